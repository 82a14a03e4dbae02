-- One schema story: a company's scores and events are found through per-company indexes, as
-- in PostgreSQL, instead of chains of ids (scores.prev_id, events.linked, leads.last_score_id,
-- leads.last_event_id) that only one code path kept. Any code that writes through the pool
-- now leaves the store consistent. Existing rows keep everything they held; the chain columns
-- are dropped (they duplicated what the indexes find).

DROP INDEX events_company;
ALTER TABLE events DROP COLUMN linked;
CREATE INDEX events_company ON events (company_id, event_type);

ALTER TABLE scores DROP COLUMN prev_id;
CREATE INDEX scores_company_latest ON scores (company_id, scored_at DESC, id DESC);

ALTER TABLE leads DROP COLUMN last_score_id;
ALTER TABLE leads DROP COLUMN last_event_id;
