-- Jobs: one row per asynchronous execution, from acceptance to its end.
CREATE TABLE jobs (
    -- Insertion order: FIFO within a priority, and a stable cursor for paging.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The public, unguessable job id (UUID v4).
    id TEXT NOT NULL UNIQUE,
    process_id TEXT NOT NULL,
    module_digest TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    priority INTEGER NOT NULL DEFAULT 0,
    -- JSON: complete inputs, canonical options, linearization wanted, limits.
    request TEXT NOT NULL,
    -- JSON outputs object and Jacobian, once successful.
    outputs TEXT,
    jacobian TEXT,
    -- JSON problem document, once failed or dismissed.
    error TEXT,
    progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    message TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    fuel_consumed INTEGER,
    -- JSON: captured stdout, stderr and log lines of the last attempt.
    logs TEXT,
    -- Unix time in microseconds.
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    updated_at INTEGER NOT NULL
);

CREATE INDEX jobs_queue ON jobs (priority DESC, seq) WHERE status = 'accepted';
CREATE INDEX jobs_by_status ON jobs (status, seq);
CREATE INDEX jobs_by_process ON jobs (process_id, seq);

-- A finished job never runs again, whatever the code asks: it can only be dismissed
-- (its results removed), and a dismissed job stays dismissed.
CREATE TRIGGER jobs_end_is_final BEFORE UPDATE OF status ON jobs
WHEN (OLD.status = 'dismissed' AND NEW.status <> 'dismissed')
  OR (OLD.status IN ('successful', 'failed') AND NEW.status NOT IN (OLD.status, 'dismissed'))
BEGIN
    SELECT RAISE(ABORT, 'a finished job cannot change status');
END;
