-- One schema story with SQLite: a company's events through a whole per-company index (the
-- `linked` column, always NULL here, was SQLite's chain and is gone from both).
DROP INDEX events_company;
ALTER TABLE events DROP COLUMN linked;
CREATE INDEX events_company ON events (company_id, event_type);
