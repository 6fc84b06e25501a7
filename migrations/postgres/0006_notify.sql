-- Job events reach every replica (src/jobs/replica_events.rs listens on both channels).
-- NOTIFY is transactional: a notification is delivered when its transaction commits, so a
-- replica that hears one reads the committed rows. Notifications are hints, not data: a
-- listener that reconnects re-reads the tables.
--
-- flowsmith_job_events (payload: the job id): an event was stored, or a job's status changed.
-- flowsmith_jobs_queued (payload empty): a job became queued (created or retried), or a job
-- stopped running, which may free its target for a queued job.

CREATE FUNCTION flowsmith_notify_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('flowsmith_job_events', NEW.job_id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER job_events_notify
    AFTER INSERT ON job_events
    FOR EACH ROW EXECUTE FUNCTION flowsmith_notify_job_event();

CREATE FUNCTION flowsmith_notify_job_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('flowsmith_job_events', NEW.id::text);
    END IF;
    IF NEW.status::text = 'queued'
       OR (TG_OP = 'UPDATE' AND OLD.status::text = 'running' AND NEW.status::text <> 'running') THEN
        PERFORM pg_notify('flowsmith_jobs_queued', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_status_notify
    AFTER INSERT OR UPDATE OF status ON jobs
    FOR EACH ROW EXECUTE FUNCTION flowsmith_notify_job_status();
