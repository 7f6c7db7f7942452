-- A kept idempotent answer that holds a case's personal data (a note) is
-- sealed under that case's key and names the case, so a shred deletes it.
ALTER TABLE idempotency_keys ADD COLUMN case_id TEXT;
CREATE INDEX idempotency_keys_case ON idempotency_keys (case_id) WHERE case_id IS NOT NULL;

-- The audit chain, keyed: each entry's MAC and the head's, under a key that
-- only the master key opens, so that whoever can write the database cannot
-- rewrite the chain and its head to match. Entries before `keyed_from`
-- were chained before there was a key (SHA-256 only).
ALTER TABLE audit_log ADD COLUMN mac TEXT;
ALTER TABLE audit_head ADD COLUMN mac TEXT;
ALTER TABLE audit_head ADD COLUMN keyed_from INTEGER;

-- What emails call a shelter: a label its coordinators chose to travel by
-- email (the name and city never do); none, and emails use a short id.
ALTER TABLE shelters ADD COLUMN email_label TEXT;
