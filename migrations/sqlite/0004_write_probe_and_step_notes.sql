-- Readiness probes a database that refused writes with a write that needs new space: a row
-- inserted and deleted in one transaction. Empty between probes.
CREATE TABLE write_probe (
    at   TEXT NOT NULL,
    pad  BLOB NOT NULL
);

-- Why a step ended as it did when the plan did not say so, e.g. a `create` found at run
-- time that an earlier job had already deployed the same content (JSON {kind, message, ...}).
ALTER TABLE job_steps ADD COLUMN note TEXT;
