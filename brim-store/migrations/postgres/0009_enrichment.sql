-- Enrichment: providers' answers kept for a while (a company is not looked up twice a day), and
-- each provider's next free request slot, shared by every process on the database.
CREATE TABLE enrichment_cache (
    provider   TEXT NOT NULL,
    lookup     TEXT NOT NULL,            -- what the request named the company by: domain=acme.com
    found      SMALLINT NOT NULL,        -- 1: the record; 0: the provider does not know it
    record     TEXT,                     -- the ProviderRecord as JSON
    fetched_at BIGINT NOT NULL,          -- Unix ms
    expires_at BIGINT NOT NULL,          -- Unix ms
    PRIMARY KEY (provider, lookup)
);
CREATE TABLE enrichment_rate (
    provider   TEXT PRIMARY KEY,
    next_at_us BIGINT NOT NULL           -- Unix microseconds of the next free slot
);
