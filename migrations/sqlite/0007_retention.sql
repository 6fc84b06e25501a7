-- Retention (README "Retention"): finished jobs older than `retention_days` lose their
-- events (all but the last, so event numbers carry on) and the steps that changed no flow;
-- the steps that published or deleted a flow stay, so every flow's release history stays
-- whole. `pruned_at` marks a job done, and the partial index finds the ones still to prune
-- without reading the pruned ones again.
ALTER TABLE jobs ADD COLUMN pruned_at TEXT;
CREATE INDEX jobs_to_prune ON jobs (finished_at) WHERE pruned_at IS NULL;
