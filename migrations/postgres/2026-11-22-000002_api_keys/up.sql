-- API keys of partner shelters. The key itself is never stored: only its
-- SHA-256 and a short non-secret prefix to find it by.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    shelter_id TEXT NOT NULL REFERENCES shelters (id),
    label TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_shelter_id ON api_keys (shelter_id);
