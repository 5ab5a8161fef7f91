-- Stripe webhook events already processed. The primary key makes a redelivered event a no-op;
-- the row is written in the same transaction as the event's effect.
CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY NOT NULL,
    type         TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
