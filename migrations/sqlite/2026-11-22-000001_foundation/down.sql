DROP TABLE case_events;
DROP TABLE cases;
DROP TABLE shelters;
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE users;
