-- Release history is read from the job steps that published (or deleted) a flow: every
-- version flowsmith made keeps its flow, Genesys version, YAML, plan hash and job there.
-- This index serves `GET /v1/flows/{target}/{name}/history` and rollbacks.
CREATE INDEX job_steps_by_flow ON job_steps (flow_name, state, finished_at);
