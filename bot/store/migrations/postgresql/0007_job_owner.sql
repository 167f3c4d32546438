-- Several processes dispatch at once (bot/jobs/adoption.py). owner: the process that claimed
-- the job (its lease is "worker:<owner>"); a silent one's unfinished jobs are adopted by
-- another exactly once. endpoint: the provider the job was submitted to (a midjourney-proxy
-- URL, or one machine's local model): provider.max_concurrency is counted per endpoint over
-- every process. Both NULL for jobs claimed before this, or by a dispatcher without a lease.
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN endpoint TEXT;
CREATE INDEX jobs_live_owner ON jobs (owner) WHERE finished_at IS NULL;
CREATE INDEX jobs_live_endpoint ON jobs (endpoint, state) WHERE finished_at IS NULL;
