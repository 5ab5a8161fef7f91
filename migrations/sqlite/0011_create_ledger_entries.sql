-- Every money movement, append-only: rows are inserted, never updated or deleted. Amounts are
-- signed minor units (payments positive, refunds negative). Reports derive from this table only.
CREATE TABLE ledger_entries (
    id                  TEXT PRIMARY KEY NOT NULL,
    operator_id         TEXT NOT NULL REFERENCES operators (id),
    booking_id          TEXT NOT NULL REFERENCES bookings (id),
    kind                TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'fee')),
    amount              INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    provider            TEXT NOT NULL,
    provider_reference  TEXT,
    created_at          TEXT NOT NULL
);
CREATE INDEX ledger_operator_time ON ledger_entries (operator_id, created_at);
CREATE INDEX ledger_booking ON ledger_entries (booking_id);
