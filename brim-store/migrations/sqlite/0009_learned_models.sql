-- The learned-model registry: every uploaded model file, and every change of the active one.
CREATE TABLE learned_models (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    summary     TEXT NOT NULL,           -- what the list shows (JSON, the server's)
    body        TEXT NOT NULL,           -- the model file as uploaded
    uploaded_at BIGINT NOT NULL          -- Unix milliseconds, UTC
);
CREATE TABLE learned_activations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id     BIGINT REFERENCES learned_models (id),  -- NULL: the rules alone
    weight       DOUBLE PRECISION NOT NULL,
    restores     BIGINT,                 -- a rollback: the activation it brought back
    activated_at BIGINT NOT NULL
);
