DROP TABLE bad_key_attempts;
ALTER TABLE api_keys DROP COLUMN window_count;
ALTER TABLE api_keys DROP COLUMN window_start;
DROP INDEX cases_scan_at;
ALTER TABLE cases DROP COLUMN scan_at;
