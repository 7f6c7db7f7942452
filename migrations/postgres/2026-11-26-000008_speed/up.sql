-- A shelter's occupancy (the sum of household sizes of its cases in a safe
-- house), checked by every placement, read from the index alone.
CREATE INDEX cases_shelter_occupancy ON cases (shelter_id, stage, household_size);
DROP INDEX cases_shelter_id;
-- The stall scan's escalation step reads only alerts not yet escalated:
-- escalated ones leave the index, so a scan costs what is due, not what
-- was ever raised.
CREATE INDEX alerts_due_for_escalation ON alerts (state, raised_at) WHERE escalated_at IS NULL;
