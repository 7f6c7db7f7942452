-- The legs of a person's journey. The booking reference is personal:
-- sealed under the case's key (purpose "leg:<id>:booking"), set to NULL by
-- a shred. A cost is a decimal string and its ISO 4217 currency, never a
-- float. `alert_at` is `arrive_by` while the person is on the way, so the
-- scan reads only legs that are due.
CREATE TABLE case_legs (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    mode TEXT NOT NULL,
    from_city TEXT NOT NULL,
    from_country TEXT NOT NULL,
    to_city TEXT NOT NULL,
    to_country TEXT NOT NULL,
    depart_at TIMESTAMP NOT NULL,
    arrive_by TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    carrier TEXT,
    cost_amount TEXT,
    cost_currency TEXT,
    booking_sealed BYTEA,
    to_shelter_id TEXT REFERENCES shelters (id),
    alert_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX case_legs_case ON case_legs (case_id, id);
CREATE INDEX case_legs_alert_at ON case_legs (alert_at) WHERE alert_at IS NOT NULL;
CREATE INDEX case_legs_on_the_way ON case_legs (arrive_by, case_id) WHERE status = 'departed';
CREATE INDEX case_legs_to_shelter ON case_legs (to_shelter_id, case_id) WHERE to_shelter_id IS NOT NULL;
