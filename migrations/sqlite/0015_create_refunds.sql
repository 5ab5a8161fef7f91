-- Refunds, written in the same transaction as the cancellation that causes them and then sent
-- to the provider (a transactional outbox for money). The provider call's idempotency key is
-- derived from `id`, so a retry never refunds twice. `pending`: not yet accepted by the
-- provider; `succeeded`: accepted (and in the ledger); `failed`: refused, needs an operator.
CREATE TABLE refunds (
    id                  TEXT PRIMARY KEY NOT NULL,
    booking_id          TEXT NOT NULL REFERENCES bookings (id),
    operator_id         TEXT NOT NULL REFERENCES operators (id),
    amount              INTEGER NOT NULL CHECK (amount > 0),
    currency            TEXT NOT NULL,
    provider            TEXT NOT NULL,
    reason              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_refund_id  TEXT UNIQUE,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    last_error          TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX refunds_booking ON refunds (booking_id);
CREATE INDEX refunds_due ON refunds (status, next_attempt_at);
