-- PostgreSQL twin of migrations/sqlite/0002_jobs.sql (the state machines are described
-- there). INTEGER is BIGINT; the two flags are BOOLEAN (SQL writes TRUE/FALSE on both).

CREATE TABLE jobs (
    id                TEXT COLLATE "C" PRIMARY KEY, -- UUID v7: sorts by creation time
    target            TEXT COLLATE "C" NOT NULL,
    status            TEXT COLLATE "C" NOT NULL,
    dry_run           BOOLEAN NOT NULL DEFAULT FALSE,
    cancel_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    description       TEXT,
    request           TEXT NOT NULL,             -- the request as received (JSON)
    plan              TEXT NOT NULL,             -- plan warnings and notes (JSON)
    idempotency_key   TEXT UNIQUE,
    request_hash      TEXT NOT NULL,             -- SHA-256 of the canonical request
    attempt           BIGINT NOT NULL DEFAULT 0, -- claims so far; fences every write
    lease_owner       TEXT,
    lease_expires_at  TEXT COLLATE "C",
    created_at        TEXT COLLATE "C" NOT NULL,
    started_at        TEXT COLLATE "C",
    finished_at       TEXT COLLATE "C",
    error             TEXT
);

CREATE INDEX jobs_claim ON jobs (status, created_at);
CREATE INDEX jobs_target ON jobs (target, status);

CREATE TABLE job_steps (
    job_id             TEXT COLLATE "C" NOT NULL REFERENCES jobs (id),
    idx                BIGINT NOT NULL,
    flow_name          TEXT COLLATE "C" NOT NULL,
    template_name      TEXT COLLATE "C" NOT NULL,
    template_version   BIGINT NOT NULL,
    flow_type          TEXT NOT NULL,
    action             TEXT NOT NULL,
    state              TEXT COLLATE "C" NOT NULL,
    depends_on         TEXT NOT NULL,            -- JSON array of step indices (its modules)
    yaml               TEXT NOT NULL,
    content_hash       TEXT NOT NULL,
    plan_hash          TEXT NOT NULL,
    params             TEXT NOT NULL,
    context            TEXT NOT NULL,
    warnings           TEXT NOT NULL,
    genesys_job_id     TEXT,
    uploaded_at        TEXT COLLATE "C",
    flow_id            TEXT,
    published_version  TEXT,
    error              TEXT,
    attempt            BIGINT NOT NULL DEFAULT 0,
    started_at         TEXT COLLATE "C",
    finished_at        TEXT COLLATE "C",
    PRIMARY KEY (job_id, idx)
);

CREATE TABLE job_events (
    job_id  TEXT COLLATE "C" NOT NULL REFERENCES jobs (id),
    seq     BIGINT NOT NULL,                     -- from 1 per job; the SSE event id
    at      TEXT COLLATE "C" NOT NULL,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL,                       -- JSON
    PRIMARY KEY (job_id, seq)
);

ALTER TABLE flow_records ADD COLUMN plan_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_records ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE flow_records ADD COLUMN module_interface TEXT;
ALTER TABLE flow_records ADD COLUMN calls TEXT NOT NULL DEFAULT '[]';
ALTER TABLE flow_records ADD COLUMN job_id TEXT COLLATE "C";
