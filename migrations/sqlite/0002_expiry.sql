-- Garbage collection: a finished job's results and logs are removed when it expires (by age or
-- to keep the total under the storage cap); its row stays, with the time it expired.
ALTER TABLE jobs ADD COLUMN expired_at INTEGER;
-- Bytes of outputs, Jacobian and logs, counted against the storage cap.
ALTER TABLE jobs ADD COLUMN result_bytes INTEGER NOT NULL DEFAULT 0;

CREATE INDEX jobs_expirable ON jobs (finished_at, seq)
    WHERE expired_at IS NULL AND status IN ('successful', 'failed');
