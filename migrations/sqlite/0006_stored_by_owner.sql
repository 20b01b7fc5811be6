-- What each owner's jobs keep on disk (`result_bytes` of the rows not expired: results, logs,
-- workspace files), kept current by triggers. The storage quota reads one row here instead of
-- adding up every job the owner ever ran, a sum that grew with their history.
CREATE TABLE stored_by_owner (
    owner TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- A dismissed job keeps nothing: its results, logs and workspace are gone (its logs stayed
-- before, counted against its owner's quota for good, since dismissed jobs never expire).
UPDATE jobs SET logs = NULL, result_bytes = 0 WHERE status = 'dismissed';

INSERT INTO stored_by_owner (owner, bytes)
    SELECT owner, SUM(result_bytes) FROM jobs WHERE expired_at IS NULL GROUP BY owner;

CREATE TRIGGER jobs_stored_on_insert AFTER INSERT ON jobs
WHEN NEW.expired_at IS NULL AND NEW.result_bytes <> 0
BEGIN
    INSERT OR IGNORE INTO stored_by_owner (owner) VALUES (NEW.owner);
    UPDATE stored_by_owner SET bytes = bytes + NEW.result_bytes WHERE owner = NEW.owner;
END;

CREATE TRIGGER jobs_stored_on_update AFTER UPDATE OF result_bytes, expired_at ON jobs
WHEN (CASE WHEN NEW.expired_at IS NULL THEN NEW.result_bytes ELSE 0 END)
  <> (CASE WHEN OLD.expired_at IS NULL THEN OLD.result_bytes ELSE 0 END)
BEGIN
    INSERT OR IGNORE INTO stored_by_owner (owner) VALUES (NEW.owner);
    UPDATE stored_by_owner
    SET bytes = bytes
        + (CASE WHEN NEW.expired_at IS NULL THEN NEW.result_bytes ELSE 0 END)
        - (CASE WHEN OLD.expired_at IS NULL THEN OLD.result_bytes ELSE 0 END)
    WHERE owner = NEW.owner;
END;

CREATE TRIGGER jobs_stored_on_delete AFTER DELETE ON jobs
WHEN OLD.expired_at IS NULL AND OLD.result_bytes <> 0
BEGIN
    UPDATE stored_by_owner SET bytes = bytes - OLD.result_bytes WHERE owner = OLD.owner;
END;
