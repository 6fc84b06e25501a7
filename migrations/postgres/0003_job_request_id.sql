-- PostgreSQL twin of migrations/sqlite/0003_job_request_id.sql.
ALTER TABLE jobs ADD COLUMN request_id TEXT;
