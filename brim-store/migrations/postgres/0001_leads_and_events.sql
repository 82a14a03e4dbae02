-- Leads by company_id (brim-core's: the lead's id, else the original's hash of the name).
CREATE TABLE leads (
    company_id   TEXT PRIMARY KEY,
    company_name TEXT NOT NULL,
    lead         JSONB NOT NULL,         -- the merged lead
    created_at   BIGINT NOT NULL,        -- Unix milliseconds, UTC
    updated_at   BIGINT NOT NULL
);

-- Append-only event log.
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    event_type  TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,         -- Unix milliseconds, UTC
    user_id     TEXT,
    company_id  TEXT,
    payload     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX events_type_time ON events (event_type, occurred_at);
CREATE INDEX events_company ON events (company_id);
