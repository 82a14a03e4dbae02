-- Every score ever given, with the model that gave it.
CREATE TABLE scores (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id    TEXT NOT NULL,
    model         TEXT NOT NULL,
    model_version TEXT NOT NULL,
    fit_score     SMALLINT NOT NULL,
    intent_score  SMALLINT NOT NULL,
    total_score   SMALLINT NOT NULL,
    confidence    DOUBLE PRECISION NOT NULL,
    action        TEXT NOT NULL,
    report        TEXT NOT NULL,         -- the full ScoreReport as JSON
    scored_at     BIGINT NOT NULL        -- Unix milliseconds, UTC
);
CREATE INDEX scores_company_latest ON scores (company_id, scored_at DESC, id DESC);
