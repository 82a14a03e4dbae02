-- Fewer index entries keyed by company per scored lead. Company ids are hashes: each such entry
-- lands on a random index page, and every page a commit changes is written whole to the WAL
-- and again to the database (measured under load: ~1,300 requests/s and ~10 µs of CPU a
-- request for each such index). So:
-- - `leads` holds one row per company: its lead (NULL for a company that was only scored), its
--   latest score (what `latest_scores` held; NULL while unscored), its e-mail's status, and the
--   first time it scored above 75 (the KPIs' qualifying score, for the time-to-activation KPI).
-- - that row leads to the company's scores, and to the score_calculated events record_scored
--   stored with them, through chains of ids (kept by the store's writes, which give new scores
--   and events their ids in the write transaction); the per-company indexes on scores and on
--   those events go.

DROP TRIGGER email_queue_inserted;
DROP TRIGGER email_queue_status_changed;

CREATE TABLE companies (
    company_id         TEXT PRIMARY KEY,
    company_name       TEXT NOT NULL,   -- the latest score's; the lead's while unscored
    lead               TEXT,            -- the merged lead as JSON; NULL if only scored
    created_at         BIGINT NOT NULL, -- Unix milliseconds, UTC: the lead stored (or scored) first
    updated_at         BIGINT NOT NULL,
    name_key           TEXT,            -- lower-cased name, for search
    model              TEXT,            -- the latest score: model, scores, action, time
    fit_score          SMALLINT,
    intent_score       SMALLINT,
    total_score        SMALLINT,
    action             TEXT,
    scored_at          BIGINT,          -- NULL: never scored
    first_qualified_at BIGINT,          -- the earliest score above 75
    email_status       TEXT,            -- the company's e-mail (not cancelled), kept by triggers
    email_variant      TEXT,
    last_score_id      INTEGER,         -- the company's score stored last (scores.prev_id: the one before)
    last_event_id      INTEGER          -- its chained event stored last (events.linked: the one before)
);
INSERT INTO companies (company_id, company_name, lead, created_at, updated_at, name_key, model,
                       fit_score, intent_score, total_score, action, scored_at, email_status,
                       email_variant)
SELECT l.company_id, COALESCE(s.company_name, l.company_name), l.lead, l.created_at,
       l.updated_at, s.name_key, s.model, s.fit_score, s.intent_score, s.total_score, s.action,
       s.scored_at, s.email_status, s.email_variant
FROM leads l LEFT JOIN latest_scores s ON s.company_id = l.company_id;
INSERT INTO companies (company_id, company_name, lead, created_at, updated_at, name_key, model,
                       fit_score, intent_score, total_score, action, scored_at, email_status,
                       email_variant)
SELECT s.company_id, s.company_name, NULL, s.scored_at, s.scored_at, s.name_key, s.model,
       s.fit_score, s.intent_score, s.total_score, s.action, s.scored_at, s.email_status,
       s.email_variant
FROM latest_scores s WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.company_id = s.company_id);
UPDATE companies SET first_qualified_at =
    (SELECT MIN(s.scored_at) FROM scores s
     WHERE s.company_id = companies.company_id AND s.total_score > 75);

-- The chain of each company's scores.
ALTER TABLE scores ADD COLUMN prev_id INTEGER;
UPDATE scores SET prev_id = p.prev
FROM (SELECT id, LAG(id) OVER (PARTITION BY company_id ORDER BY id) AS prev FROM scores) p
WHERE scores.id = p.id;
UPDATE companies SET last_score_id =
    (SELECT MAX(s.id) FROM scores s WHERE s.company_id = companies.company_id);
DROP INDEX scores_company_latest;

DROP TABLE leads;
DROP TABLE latest_scores;
ALTER TABLE companies RENAME TO leads;

-- The scored-leads table: scored rows only (`WHERE scored_at IS NOT NULL`, which its queries
-- repeat), as latest_scores' indexes were. The date index is on `scored_at + 0` so that SQLite's
-- planner never takes that filter for a range on it (it did, reading every row for a search);
-- the name index holds `scored_at` so that a search counts its matches in the index alone.
CREATE INDEX leads_score ON leads (total_score DESC, scored_at DESC, company_id) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_name ON leads (name_key, company_id, scored_at) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_date ON leads ((scored_at + 0) DESC, company_id) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_action ON leads (action, total_score DESC) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_email ON leads (email_status, action, total_score DESC) WHERE scored_at IS NOT NULL;

-- Keep leads.email_status/email_variant equal to the company's e-mail that is not cancelled,
-- so the scored-leads table filters by status without a join.
CREATE TRIGGER email_queue_inserted AFTER INSERT ON email_queue WHEN NEW.status <> 'cancelled'
BEGIN
    UPDATE leads SET email_status = NEW.status, email_variant = NEW.variant
    WHERE company_id = NEW.company_id;
END;
CREATE TRIGGER email_queue_status_changed AFTER UPDATE OF status ON email_queue
BEGIN
    UPDATE leads
    SET email_status = CASE WHEN NEW.status = 'cancelled' THEN NULL ELSE NEW.status END,
        email_variant = CASE WHEN NEW.status = 'cancelled' THEN NULL ELSE NEW.variant END
    WHERE company_id = NEW.company_id;
END;
CREATE TRIGGER leads_inserted AFTER INSERT ON leads
BEGIN
    UPDATE leads
    SET email_status = (SELECT q.status FROM email_queue q
                        WHERE q.company_id = NEW.company_id AND q.status <> 'cancelled'),
        email_variant = (SELECT q.variant FROM email_queue q
                         WHERE q.company_id = NEW.company_id AND q.status <> 'cancelled')
    WHERE company_id = NEW.company_id;
END;

-- The score_calculated events record_scored stores for a company it scored are chained the same
-- way (events.linked: the company's chained event before, 0 for none). Every other event
-- (linked NULL) stays in the per-company index, now partial.
ALTER TABLE events ADD COLUMN linked INTEGER;
DROP INDEX events_company;
CREATE INDEX events_company ON events (company_id, event_type) WHERE linked IS NULL;
