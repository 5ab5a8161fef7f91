-- Account messages (password reset code, lockout notice) go through the outbox too: they name a
-- user (and, for a reset, the reset it belongs to: `subject_id`) instead of a booking.
-- SQLite cannot drop NOT NULL from a column: the table is rebuilt with every column it had at
-- 0009 (nothing later altered it), and its indexes are made again.
CREATE TABLE outbox_new (
    id               TEXT PRIMARY KEY NOT NULL,
    operator_id      TEXT NOT NULL REFERENCES operators (id),
    booking_id       TEXT REFERENCES bookings (id),
    user_id          TEXT REFERENCES users (id),
    subject_id       TEXT,
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
INSERT INTO outbox_new (id, operator_id, booking_id, kind, channel, dedupe_key, status, attempts,
    next_attempt_at, locked_until, last_error, created_at, sent_at, provider_id, delivery_status)
SELECT id, operator_id, booking_id, kind, channel, dedupe_key, status, attempts,
    next_attempt_at, locked_until, last_error, created_at, sent_at, provider_id, delivery_status
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_provider ON outbox (provider_id);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_operator ON outbox (operator_id, status, created_at);
