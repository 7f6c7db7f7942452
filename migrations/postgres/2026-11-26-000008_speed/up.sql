-- A shelter's occupancy (the sum of household sizes of its cases in a safe
-- house), checked by every placement, read from the index alone.
CREATE INDEX cases_shelter_occupancy ON cases (shelter_id, stage, household_size);
DROP INDEX cases_shelter_id;
