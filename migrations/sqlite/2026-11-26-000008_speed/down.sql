DROP INDEX alerts_due_for_escalation;
CREATE INDEX cases_shelter_id ON cases (shelter_id);
DROP INDEX cases_shelter_occupancy;
