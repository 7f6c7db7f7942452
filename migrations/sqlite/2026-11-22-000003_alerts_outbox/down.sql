DROP TABLE digest_runs;
DROP TABLE outbox;
DROP TABLE alerts;
