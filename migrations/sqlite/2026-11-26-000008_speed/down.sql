CREATE INDEX cases_shelter_id ON cases (shelter_id);
DROP INDEX cases_shelter_occupancy;
