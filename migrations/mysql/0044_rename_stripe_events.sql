-- The webhook events already processed, named for any payment provider (0016 made them for
-- Stripe's): the primary key still makes a redelivered event a no-op.
ALTER TABLE stripe_events RENAME TO payment_events;
