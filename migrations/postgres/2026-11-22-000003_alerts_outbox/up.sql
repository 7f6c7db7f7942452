-- Alerts: one per stall episode; the unique episode makes a second scanner's
-- insert fail instead of raising the same alert twice.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    stage TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    episode TEXT NOT NULL UNIQUE,
    raised_at TIMESTAMP NOT NULL,
    acknowledged_by TEXT REFERENCES users (id),
    acknowledged_at TIMESTAMP,
    escalated_at TIMESTAMP,
    resolved_at TIMESTAMP
);
CREATE INDEX alerts_case_id ON alerts (case_id, state);
CREATE INDEX alerts_state_raised_at ON alerts (state, raised_at);

-- Emails waiting to be sent, written in the transaction that caused them.
-- The unique dedupe key makes one cause one email.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    sent_at TIMESTAMP,
    dead_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND dead_at IS NULL;

-- One row per weekly status email round: the unique week makes it once.
CREATE TABLE digest_runs (
    week TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);
