DROP TABLE case_events;
DROP FUNCTION case_events_append_only();
DROP TABLE cases;
DROP TABLE shelters;
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE users;
