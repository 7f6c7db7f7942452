DROP INDEX idempotency_keys_case;
ALTER TABLE idempotency_keys DROP COLUMN case_id;
