-- PostgreSQL twin of migrations/sqlite/0005_history_index.sql.
CREATE INDEX job_steps_by_flow ON job_steps (flow_name, state, finished_at);
