-- Users and their API tokens; every job belongs to one user.

CREATE TABLE users (
    -- The user's name: it owns jobs and files, and quotas count against it.
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    -- Argon2id in PHC form; NULL for users who only have tokens.
    password_hash TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    -- The public id of a token, to list and revoke it; never the secret.
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    -- SHA-256 (hex) of the secret: the secret itself is never stored.
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    -- Unix microseconds; NULL: never expires.
    expires_at INTEGER,
    revoked_at INTEGER
);

CREATE INDEX tokens_by_user ON tokens (user_name);

-- Jobs made before users existed belong to nobody ('') and are visible to administrators only.
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';

CREATE INDEX jobs_by_owner ON jobs (owner, seq);
-- Fair claiming: each user's queue in order, and how many jobs each user has running.
CREATE INDEX jobs_queued_by_owner ON jobs (owner, priority DESC, seq) WHERE status = 'accepted';
CREATE INDEX jobs_running_by_owner ON jobs (owner) WHERE status = 'running';
