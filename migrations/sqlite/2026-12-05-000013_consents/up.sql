-- What the person agreed to, as told to a coordinator: a history, of which
-- the latest per scope counts. A note on it is the note of its timeline
-- event: sealed under the case's key, deleted by a shred.
CREATE TABLE case_consents (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    scope TEXT NOT NULL,
    given INTEGER NOT NULL,
    method TEXT NOT NULL,
    recorded_by TEXT,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX case_consents_case_scope ON case_consents (case_id, scope, id);
