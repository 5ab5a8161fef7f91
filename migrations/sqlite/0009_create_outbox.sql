-- Messages to travelers, written in the same transaction as the change that causes them and
-- sent by the dispatcher. `dedupe_key` (booking + kind + channel) makes one event enqueue once.
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY NOT NULL,
    operator_id      TEXT NOT NULL REFERENCES operators (id),
    booking_id       TEXT NOT NULL REFERENCES bookings (id),
    kind             TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    dedupe_key       TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    provider_id      TEXT,
    delivery_status  TEXT
);
CREATE INDEX outbox_provider ON outbox (provider_id);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_operator ON outbox (operator_id, status, created_at);
