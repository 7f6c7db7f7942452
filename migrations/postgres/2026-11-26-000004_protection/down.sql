DROP TABLE IF EXISTS data_steps;
DROP TABLE IF EXISTS audit_head;
DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS audit_log_append_only();
DROP TABLE IF EXISTS event_notes;
DROP TABLE IF EXISTS case_personal;
DROP TABLE IF EXISTS case_keys;
DROP TABLE IF EXISTS vault;
DROP TRIGGER IF EXISTS case_events_no_update ON case_events;
DROP TRIGGER IF EXISTS case_events_no_delete ON case_events;
CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
