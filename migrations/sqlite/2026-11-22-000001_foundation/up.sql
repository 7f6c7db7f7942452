-- Foundation schema (SQLite). Keep in step with migrations/postgres.
-- Times are UTC TIMESTAMP, ids are UUID text, JSON is TEXT: the same column
-- types exist on both backends, so one diesel schema serves both.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'observer')),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    refresh_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    refreshed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Failed sign-ins by account, keyed by a hash of the normalised email so
-- that unknown emails lock out alike (no account enumeration) and no
-- attempted email is stored in clear.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    account_key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_account_at ON login_failures (account_key, at);
CREATE INDEX login_failures_at ON login_failures (at);

CREATE TABLE shelters (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    city TEXT,
    country TEXT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    contact_email TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    stage TEXT NOT NULL CHECK (stage IN ('intake', 'safe_house', 'transit', 'resettlement', 'closed')),
    outcome TEXT,
    risk_level TEXT NOT NULL,
    household_size INTEGER NOT NULL CHECK (household_size >= 1),
    needs TEXT NOT NULL,
    origin_region TEXT,
    destination_country TEXT,
    shelter_id TEXT REFERENCES shelters (id),
    assigned_to TEXT REFERENCES users (id),
    stage_entered_at TIMESTAMP NOT NULL,
    last_contact_at TIMESTAMP,
    snoozed_until TIMESTAMP,
    stall_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX cases_stall_at ON cases (stall_at);
CREATE INDEX cases_shelter_id ON cases (shelter_id);
CREATE INDEX cases_stage ON cases (stage);
CREATE INDEX cases_assigned_to ON cases (assigned_to);

CREATE TABLE case_events (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    from_stage TEXT,
    to_stage TEXT,
    shelter_id TEXT,
    detail TEXT
);
CREATE INDEX case_events_case_id ON case_events (case_id, id);

-- The timeline is append-only.
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;
