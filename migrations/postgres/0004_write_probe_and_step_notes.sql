-- PostgreSQL twin of migrations/sqlite/0004_write_probe_and_step_notes.sql.
CREATE TABLE write_probe (
    at   TEXT NOT NULL,
    pad  BYTEA NOT NULL
);

ALTER TABLE job_steps ADD COLUMN note TEXT;
