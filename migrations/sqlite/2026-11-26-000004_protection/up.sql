-- Protecting the people in the data (SQLite). Keep in step with migrations/postgres.

-- The vault: a check value that recognises the master key, and the key of
-- the duplicate check, sealed under the master key. One row.
CREATE TABLE vault (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    check_value BLOB NOT NULL,
    mac_key BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP
);

-- Each case's data key, wrapped under the master key. Shredding sets it to
-- NULL for good and stamps shredded_at.
CREATE TABLE case_keys (
    case_id TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    wrapped_key BLOB,
    key_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    shredded_at TIMESTAMP
);

-- Personal fields, each sealed under the case's key; duplicate_key is a
-- keyed hash (HMAC) of the normalised legal name and date of birth.
CREATE TABLE case_personal (
    case_id TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    legal_name BLOB,
    alias BLOB,
    date_of_birth BLOB,
    contacts BLOB,
    notes BLOB,
    duplicate_key TEXT,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX case_personal_duplicate_key ON case_personal (duplicate_key);

-- Free text of timeline events (notes, snooze reasons), sealed under the
-- case's key. The timeline is append-only; these rows a shred deletes.
CREATE TABLE event_notes (
    event_id TEXT PRIMARY KEY NOT NULL REFERENCES case_events (id),
    case_id TEXT NOT NULL REFERENCES cases (id),
    sealed BLOB NOT NULL
);
CREATE INDEX event_notes_case_id ON event_notes (case_id);

-- The audit log: append-only, each entry carrying the hash of the one before.
-- The id is SQLite's rowid: entries are one b-tree, appended at its end.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    case_id TEXT,
    target TEXT,
    request_id TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The chain head, locked by every append so the chain stays one line.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_id INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Data steps that need the master key, so SQL cannot do them: each runs
-- once, after the migrations, and is recorded here.
CREATE TABLE data_steps (
    name TEXT PRIMARY KEY NOT NULL,
    done_at TIMESTAMP NOT NULL
);

-- Notes stored in clear so far are sealed by the step `seal_event_notes`,
-- which rewrites their events' details: the timeline takes updates until
-- that step closes it again, in the same transaction as its work.
DROP TRIGGER case_events_no_update;
