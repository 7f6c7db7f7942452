-- Hardening (PostgreSQL). Keep in step with migrations/sqlite.

-- Failed sign-ins also by client address (a hash of it, never the address),
-- so that a lockout is per account and address, and spraying from one
-- address across accounts is limited.
ALTER TABLE login_failures ADD COLUMN client_key TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_client_at ON login_failures (client_key, at);

-- Values the service remembers between starts (the stall limits it last
-- applied, the moment it was installed).
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
