-- The outbound e-mail queue. One row per e-mail; `status` moves
--   waiting (no contact address yet) -> queued -> leased -> sent
--                                        queued <- leased (transient failure: backoff, or deferred to a send window)
--                                        dead   <- leased (last attempt or permanent failure); dead -> queued (requeue)
--   waiting/queued -> cancelled
-- `due_at` is when the row may next be claimed: for queued rows the next attempt, for leased rows
-- the lease deadline (an expired lease makes the row claimable again).
CREATE TABLE email_queue (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       TEXT NOT NULL,
    recipient        TEXT,               -- NULL while waiting for a contact address
    recipient_key    TEXT,               -- lower-cased address, for the suppression list
    recipient_domain TEXT,               -- lower-cased domain, for the suppression list
    score            SMALLINT NOT NULL,  -- the priority: higher first
    variant          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT,
    writer           TEXT NOT NULL CHECK (writer IN ('llm', 'template')),
    message_id       TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('waiting', 'queued', 'leased', 'sent', 'dead', 'cancelled')),
    wait_reason      TEXT CHECK (wait_reason IN ('no_contact', 'send_window', 'backoff')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    leased_by        TEXT,
    created_at       BIGINT NOT NULL,    -- Unix milliseconds, UTC
    due_at           BIGINT NOT NULL,
    sent_at          BIGINT,
    updated_at       BIGINT NOT NULL
);
-- Once per company: a company has at most one e-mail that is not cancelled, so at most one is
-- ever sent. The database enforces it.
CREATE UNIQUE INDEX email_queue_once_per_company ON email_queue (company_id) WHERE status <> 'cancelled';
CREATE INDEX email_queue_claim ON email_queue (score DESC, created_at, id) WHERE status IN ('queued', 'leased');
CREATE INDEX email_queue_status ON email_queue (status, id);
CREATE INDEX email_queue_sent_at ON email_queue (sent_at) WHERE status = 'sent';

-- Addresses and domains never to write to.
CREATE TABLE suppressions (
    value      TEXT PRIMARY KEY,         -- a lower-cased address (a@b.com) or domain (b.com)
    reason     TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'manual')),
    created_at BIGINT NOT NULL
);

-- Each company's latest score, kept by save_scores: the scored-leads table reads one row per company.
CREATE TABLE latest_scores (
    company_id    TEXT PRIMARY KEY,
    company_name  TEXT NOT NULL,
    name_key      TEXT NOT NULL,         -- lower-cased name, for search
    model         TEXT NOT NULL,
    fit_score     SMALLINT NOT NULL,
    intent_score  SMALLINT NOT NULL,
    total_score   SMALLINT NOT NULL,
    action        TEXT NOT NULL,
    scored_at     BIGINT NOT NULL,
    email_status  TEXT,                  -- the company's e-mail (not cancelled), kept by triggers
    email_variant TEXT
);
CREATE INDEX latest_scores_score ON latest_scores (total_score DESC, scored_at DESC, company_id);
CREATE INDEX latest_scores_name ON latest_scores (name_key, company_id);
CREATE INDEX latest_scores_date ON latest_scores (scored_at DESC, company_id);
CREATE INDEX latest_scores_action ON latest_scores (action, total_score DESC);
CREATE INDEX scores_time ON scores (scored_at, total_score, company_id);

-- Analytics read events through covering indexes: by type and time (with who and which company),
-- activation steps by step (a small partial index), and a company's events by type.
DROP INDEX events_type_time;
CREATE INDEX events_type_time ON events (event_type, occurred_at, company_id, user_id);
CREATE INDEX events_activation ON events ((payload->>'step'), occurred_at, user_id, company_id)
    WHERE event_type = 'activation_step_completed';
DROP INDEX events_company;
CREATE INDEX events_company ON events (company_id, event_type);

CREATE INDEX latest_scores_email ON latest_scores (email_status, action, total_score DESC);

-- Keep latest_scores.email_status/email_variant equal to the company's e-mail that is not
-- cancelled, so the scored-leads table filters by status without a join.
CREATE TRIGGER email_queue_inserted AFTER INSERT ON email_queue WHEN NEW.status <> 'cancelled'
BEGIN
    UPDATE latest_scores SET email_status = NEW.status, email_variant = NEW.variant
    WHERE company_id = NEW.company_id;
END;
CREATE TRIGGER email_queue_status_changed AFTER UPDATE OF status ON email_queue
BEGIN
    UPDATE latest_scores
    SET email_status = CASE WHEN NEW.status = 'cancelled' THEN NULL ELSE NEW.status END,
        email_variant = CASE WHEN NEW.status = 'cancelled' THEN NULL ELSE NEW.variant END
    WHERE company_id = NEW.company_id;
END;
CREATE TRIGGER latest_scores_inserted AFTER INSERT ON latest_scores
BEGIN
    UPDATE latest_scores
    SET email_status = (SELECT q.status FROM email_queue q
                        WHERE q.company_id = NEW.company_id AND q.status <> 'cancelled'),
        email_variant = (SELECT q.variant FROM email_queue q
                         WHERE q.company_id = NEW.company_id AND q.status <> 'cancelled')
    WHERE company_id = NEW.company_id;
END;

-- Fill latest_scores from scores saved before this migration.
INSERT INTO latest_scores (company_id, company_name, name_key, model, fit_score, intent_score, total_score, action, scored_at)
SELECT s.company_id, s.report->>'company_name', lower(s.report->>'company_name'), s.model,
       s.fit_score, s.intent_score, s.total_score, s.action, s.scored_at
FROM scores s
WHERE s.id = (SELECT s2.id FROM scores s2 WHERE s2.company_id = s.company_id
              ORDER BY s2.scored_at DESC, s2.id DESC LIMIT 1);
