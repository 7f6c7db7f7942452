DROP TABLE IF EXISTS data_steps;
DROP TABLE IF EXISTS audit_head;
DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS event_notes;
DROP TABLE IF EXISTS case_personal;
DROP TABLE IF EXISTS case_keys;
DROP TABLE IF EXISTS vault;
DROP TRIGGER IF EXISTS case_events_no_update;
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;
