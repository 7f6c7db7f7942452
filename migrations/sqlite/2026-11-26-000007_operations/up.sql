-- Operations (sqlite). Keep in step with migrations/postgres.

-- When the stall scan should next look at a case: its stall deadline, until
-- the scan has alerted for that deadline (then NULL, until the case changes
-- and gets a new one). The scan reads only rows due by this index, so a
-- case already alerted is never read again.
ALTER TABLE cases ADD COLUMN scan_at TIMESTAMP;
UPDATE cases SET scan_at = stall_at WHERE stage <> 'closed';
CREATE INDEX cases_scan_at ON cases (scan_at);

-- Each API key's requests in the current minute, counted in the database
-- (by the same statement that marks the key used), so that several
-- instances share one budget.
ALTER TABLE api_keys ADD COLUMN window_start TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN window_count INTEGER NOT NULL DEFAULT 0;

-- Unknown or malformed API keys by client address (a hash of it), shared
-- by every instance like failed sign-ins.
CREATE TABLE bad_key_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    client_key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX bad_key_attempts_client_at ON bad_key_attempts (client_key, at);
