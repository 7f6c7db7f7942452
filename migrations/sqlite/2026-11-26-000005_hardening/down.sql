DROP TABLE IF EXISTS settings;
DROP INDEX IF EXISTS login_failures_client_at;
ALTER TABLE login_failures DROP COLUMN client_key;
