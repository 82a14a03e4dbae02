-- One row per company in `leads`: its lead (NULL for a company that was only scored), its
-- latest score (what `latest_scores` held; NULL while unscored), its e-mail's status, and the
-- first time it scored above 75 (the KPIs' qualifying score, for the time-to-activation KPI).
-- The same shape as SQLite's (see its migration 0006, which also explains why: fewer index
-- entries keyed by company per scored lead); SQLite alone chains scores and events instead of
-- indexing them by company, PostgreSQL keeps those indexes.

DROP TRIGGER email_queue_inserted ON email_queue;
DROP TRIGGER email_queue_status_changed ON email_queue;
DROP FUNCTION brim_email_to_latest();

ALTER TABLE leads ALTER COLUMN lead DROP NOT NULL;
ALTER TABLE leads
    ADD COLUMN name_key TEXT,
    ADD COLUMN model TEXT,
    ADD COLUMN fit_score SMALLINT,
    ADD COLUMN intent_score SMALLINT,
    ADD COLUMN total_score SMALLINT,
    ADD COLUMN action TEXT,
    ADD COLUMN scored_at BIGINT,
    ADD COLUMN first_qualified_at BIGINT,
    ADD COLUMN email_status TEXT,
    ADD COLUMN email_variant TEXT;
UPDATE leads l
SET company_name = s.company_name, name_key = s.name_key, model = s.model,
    fit_score = s.fit_score, intent_score = s.intent_score, total_score = s.total_score,
    action = s.action, scored_at = s.scored_at, email_status = s.email_status,
    email_variant = s.email_variant
FROM latest_scores s WHERE s.company_id = l.company_id;
INSERT INTO leads (company_id, company_name, lead, created_at, updated_at, name_key, model,
                   fit_score, intent_score, total_score, action, scored_at, email_status,
                   email_variant)
SELECT s.company_id, s.company_name, NULL, s.scored_at, s.scored_at, s.name_key, s.model,
       s.fit_score, s.intent_score, s.total_score, s.action, s.scored_at, s.email_status,
       s.email_variant
FROM latest_scores s WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.company_id = s.company_id);
UPDATE leads SET first_qualified_at =
    (SELECT MIN(s.scored_at) FROM scores s
     WHERE s.company_id = leads.company_id AND s.total_score > 75);
DROP TABLE latest_scores;
DROP FUNCTION brim_latest_from_email();

-- The scored-leads table: scored rows only (`WHERE scored_at IS NOT NULL`, which its queries
-- repeat), as latest_scores' indexes were. The date index is on `scored_at + 0` so that SQLite's
-- planner never takes that filter for a range on it (it did, reading every row for a search);
-- the name index holds `scored_at` so that a search counts its matches in the index alone.
CREATE INDEX leads_score ON leads (total_score DESC, scored_at DESC, company_id) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_name ON leads (name_key, company_id, scored_at) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_date ON leads ((scored_at + 0) DESC, company_id) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_action ON leads (action, total_score DESC) WHERE scored_at IS NOT NULL;
CREATE INDEX leads_email ON leads (email_status, action, total_score DESC) WHERE scored_at IS NOT NULL;

-- Keep leads.email_status/email_variant equal to the company's e-mail that is not cancelled.
CREATE FUNCTION brim_email_to_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads
    SET email_status = CASE WHEN NEW.status = 'cancelled' THEN NULL ELSE NEW.status END,
        email_variant = CASE WHEN NEW.status = 'cancelled' THEN NULL ELSE NEW.variant END
    WHERE company_id = NEW.company_id;
    RETURN NULL;
END $$;
CREATE TRIGGER email_queue_inserted AFTER INSERT ON email_queue
    FOR EACH ROW WHEN (NEW.status <> 'cancelled') EXECUTE FUNCTION brim_email_to_lead();
CREATE TRIGGER email_queue_status_changed AFTER UPDATE OF status ON email_queue
    FOR EACH ROW EXECUTE FUNCTION brim_email_to_lead();
CREATE FUNCTION brim_lead_from_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads l SET email_status = q.status, email_variant = q.variant
    FROM email_queue q
    WHERE l.company_id = NEW.company_id AND q.company_id = NEW.company_id
      AND q.status <> 'cancelled';
    RETURN NULL;
END $$;
CREATE TRIGGER leads_inserted AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION brim_lead_from_email();

-- SQLite chains the score_calculated events record_scored stores, and takes them out of its
-- per-company index; the queries both adapters share name the column. PostgreSQL (many
-- writers, row locks) keeps its index whole: linked stays NULL here.
ALTER TABLE events ADD COLUMN linked BIGINT;
DROP INDEX events_company;
CREATE INDEX events_company ON events (company_id, event_type) WHERE linked IS NULL;
