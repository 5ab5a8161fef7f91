-- Stripe webhook events already processed. The primary key makes a redelivered event a no-op;
-- the row is written in the same transaction as the event's effect.
CREATE TABLE stripe_events (
    id           VARCHAR(255) NOT NULL PRIMARY KEY,
    type         VARCHAR(100) NOT NULL,
    received_at  DATETIME(3) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
