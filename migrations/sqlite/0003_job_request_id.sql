-- The x-request-id of the POST /v1/jobs that created a job: the worker's log lines for the
-- job and its steps carry it, so one id finds the request and everything it caused.
ALTER TABLE jobs ADD COLUMN request_id TEXT;
