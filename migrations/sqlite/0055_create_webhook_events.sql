-- One event per change, written in the change's own transaction: payload is the exact body that
-- is signed and sent, on every attempt and replay (id is its webhook-id). No foreign keys, as on
-- MySQL (where a key would lock its parent row inside holds).
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY NOT NULL,
    operator_id TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject_id  TEXT,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX webhook_events_operator ON webhook_events (operator_id, created_at);
