ALTER TABLE shelters DROP COLUMN email_label;
ALTER TABLE audit_head DROP COLUMN keyed_from;
ALTER TABLE audit_head DROP COLUMN mac;
ALTER TABLE audit_log DROP COLUMN mac;
DROP INDEX idempotency_keys_case;
ALTER TABLE idempotency_keys DROP COLUMN case_id;
