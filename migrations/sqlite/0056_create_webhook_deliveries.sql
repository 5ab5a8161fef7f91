-- The delivery queue: one row per event and endpoint, claimed like the outbox (a lease in
-- locked_until), retried with backoff until give_up_at; 'paused' while its endpoint is disabled.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    operator_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'dead', 'paused')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    locked_until    TEXT,
    give_up_at      TEXT NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status, created_at);
