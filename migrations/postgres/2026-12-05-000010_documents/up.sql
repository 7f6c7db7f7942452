-- The documents a case needs to reach its next stage: a passport, a visa.
-- The number is personal: sealed under the case's key (purpose
-- "document:<id>:number"), set to NULL by a shred. `alert_at` is the next
-- moment the stall scan must look at it (a deadline not alerted yet), so the
-- scan reads what is due, not every document.
CREATE TABLE case_documents (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    country TEXT NOT NULL,
    status TEXT NOT NULL,
    applied_on DATE,
    appointment_at TIMESTAMP,
    expected_by DATE,
    valid_until DATE,
    held_by TEXT,
    number_sealed BYTEA,
    alert_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX case_documents_case ON case_documents (case_id, id);
CREATE INDEX case_documents_alert_at ON case_documents (alert_at) WHERE alert_at IS NOT NULL;
