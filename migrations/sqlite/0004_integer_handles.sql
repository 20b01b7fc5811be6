-- Integer handles for protocols whose ids are integers (gemseo-http): jobs already have `seq`;
-- uploads get a number here, and belong to the user who made them.
CREATE TABLE upload_numbers (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The upload's UUID (its file in the uploads directory).
    upload_id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX upload_numbers_by_owner ON upload_numbers (owner, number);
