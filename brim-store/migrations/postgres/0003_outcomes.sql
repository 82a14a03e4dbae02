-- What happened with a company, as a CRM reports it (for the learned model).
CREATE TABLE outcomes (
    id          BIGSERIAL PRIMARY KEY,
    company_id  TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('demo_booked', 'closed_won', 'closed_lost', 'not_a_fit')),
    occurred_at BIGINT NOT NULL          -- Unix milliseconds, UTC
);
CREATE INDEX outcomes_company ON outcomes (company_id, occurred_at);
