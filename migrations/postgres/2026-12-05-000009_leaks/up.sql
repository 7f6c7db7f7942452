-- A kept idempotent answer that holds a case's personal data (a note) is
-- sealed under that case's key and names the case, so a shred deletes it.
ALTER TABLE idempotency_keys ADD COLUMN case_id TEXT;
CREATE INDEX idempotency_keys_case ON idempotency_keys (case_id) WHERE case_id IS NOT NULL;
