-- The company's first score above 75 (the KPIs' qualifying score), kept by save_scores, so the
-- time-to-activation KPI needs no per-company read of scores.
ALTER TABLE latest_scores ADD COLUMN first_qualified_at BIGINT;
UPDATE latest_scores SET first_qualified_at =
    (SELECT MIN(s.scored_at) FROM scores s
     WHERE s.company_id = latest_scores.company_id AND s.total_score > 75);

-- SQLite chains the events record_scored stores, and takes them out of its per-company index
-- (see its migration 0006); the queries both adapters share name the column. PostgreSQL
-- (many writers, row locks) keeps its indexes whole: linked stays NULL here.
ALTER TABLE events ADD COLUMN linked BIGINT;
DROP INDEX events_company;
CREATE INDEX events_company ON events (company_id, event_type) WHERE linked IS NULL;
