-- `GET /v1/jobs` shows each job's steps as counts by (state, action), read for a whole page
-- in one `GROUP BY job_id, state, action`. Through the primary key that read fetched every
-- step row of the page's jobs (40 a job) and sorted them; this index answers it alone, in
-- index order (issue 25: a year of history, measured in BENCHMARKS.md).
CREATE INDEX job_steps_counts ON job_steps (job_id, state, action);
