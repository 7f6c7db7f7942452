-- Idempotency keys (sqlite). Keep in step with migrations/postgres.

-- The first answer to a POST with an Idempotency-Key, kept 24 hours for
-- its caller (a user, or an API key) and the key (a hash of it). The answer
-- is sealed under a key of its own, wrapped by the master key, like
-- personal data: it may hold a new API key or a note.
CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    wrapped_key BLOB,
    response BLOB,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal, key_hash)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
