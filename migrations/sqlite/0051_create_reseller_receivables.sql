-- What resellers owe for the bookings they sold on account, append-only like the ledger: each
-- confirmation, change or cancellation of a reseller's booking adds the difference it makes.
-- `gross` is the retail price (signed minor units), `commission` the reseller's share of it; the
-- reseller owes the operator `gross - commission`.
CREATE TABLE reseller_receivables (
    id           TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    reseller_id  TEXT NOT NULL REFERENCES resellers (id),
    booking_id   TEXT NOT NULL REFERENCES bookings (id),
    gross        INTEGER NOT NULL,
    commission   INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX reseller_receivables_operator_time ON reseller_receivables (operator_id, created_at);
CREATE INDEX reseller_receivables_booking ON reseller_receivables (booking_id);
