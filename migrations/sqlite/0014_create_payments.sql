-- One online payment per booking (a Stripe PaymentIntent). The row is written with the hold,
-- before Stripe is called; `intent_id` and `client_secret` arrive with Stripe's answer (or with
-- the webhook, whichever comes first). `status` mirrors the PaymentIntent's status.
CREATE TABLE payments (
    booking_id     TEXT PRIMARY KEY NOT NULL REFERENCES bookings (id),
    operator_id    TEXT NOT NULL REFERENCES operators (id),
    provider       TEXT NOT NULL,
    intent_id      TEXT UNIQUE,
    client_secret  TEXT,
    status         TEXT NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
