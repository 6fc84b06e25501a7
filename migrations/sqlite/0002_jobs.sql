-- Provisioning jobs (spec section 6). Portable SQL: TEXT ids and RFC 3339 UTC timestamps
-- (they sort as text), INTEGER booleans, JSON kept in TEXT columns.
--
-- Job status:  queued -> running -> succeeded | failed | cancelled
--              running -> running      (an expired lease is reclaimed; attempt + 1)
--              failed | cancelled -> queued   (POST /retry)
--              a dry run is stored directly as succeeded (no Genesys call).
-- Step state:  pending -> running -> succeeded | failed
--              pending -> skipped (a module it depends on did not succeed) | cancelled
--              an `unchanged` step is stored as succeeded; a dry run's steps as skipped.

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,          -- UUID v7: sorts by creation time
    target            TEXT NOT NULL,
    status            TEXT NOT NULL,
    dry_run           INTEGER NOT NULL DEFAULT 0,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    description       TEXT,
    request           TEXT NOT NULL,             -- the request as received (JSON)
    plan              TEXT NOT NULL,             -- plan warnings and notes (JSON)
    idempotency_key   TEXT UNIQUE,
    request_hash      TEXT NOT NULL,             -- SHA-256 of the canonical request
    attempt           INTEGER NOT NULL DEFAULT 0,-- claims so far; fences every write
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    error             TEXT
);

CREATE INDEX jobs_claim ON jobs (status, created_at);
CREATE INDEX jobs_target ON jobs (target, status);

CREATE TABLE job_steps (
    job_id             TEXT NOT NULL REFERENCES jobs (id),
    idx                INTEGER NOT NULL,
    flow_name          TEXT NOT NULL,
    template_name      TEXT NOT NULL,
    template_version   INTEGER NOT NULL,
    flow_type          TEXT NOT NULL,            -- module | inbound (as provisioned)
    action             TEXT NOT NULL,            -- create | update | unchanged | republish
    state              TEXT NOT NULL,
    depends_on         TEXT NOT NULL,            -- JSON array of step indices (its modules)
    yaml               TEXT NOT NULL,            -- plan-time YAML, then the deployed YAML
    content_hash       TEXT NOT NULL,            -- SHA-256 of `yaml`
    plan_hash          TEXT NOT NULL,            -- SHA-256 of the plan-time YAML
    params             TEXT NOT NULL,            -- JSON object
    context            TEXT NOT NULL,            -- JSON: modules called, how to compile again
    warnings           TEXT NOT NULL,            -- JSON array of findings
    genesys_job_id     TEXT,
    uploaded_at        TEXT,                     -- checkpoint: the YAML was PUT
    flow_id            TEXT,
    published_version  TEXT,
    error              TEXT,                     -- JSON {kind, message, messages[], status, code, correlation_id}
    attempt            INTEGER NOT NULL DEFAULT 0, -- job attempt that last ran it
    started_at         TEXT,
    finished_at        TEXT,
    PRIMARY KEY (job_id, idx)
);

CREATE TABLE job_events (
    job_id  TEXT NOT NULL REFERENCES jobs (id),
    seq     INTEGER NOT NULL,                    -- from 1 per job; the SSE event id
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL,                       -- JSON
    PRIMARY KEY (job_id, seq)
);

-- What a job needs to know about deployed flows to plan the next one.
ALTER TABLE flow_records ADD COLUMN plan_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_records ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE flow_records ADD COLUMN module_interface TEXT;         -- JSON {inputs, outputs} of a module
ALTER TABLE flow_records ADD COLUMN calls TEXT NOT NULL DEFAULT '[]'; -- JSON flow names of the modules it calls
ALTER TABLE flow_records ADD COLUMN job_id TEXT;
