-- An operator's own Stripe account: the keys its online payments and refunds use instead of the
-- instance's BERTH_STRIPE_SECRET_KEY. The secret key and the webhook secret are sealed under
-- BERTH_SECRET_KEY (ChaCha20-Poly1305, the row id as associated data); only their masks
-- (prefix and last four) are kept in clear. Replacing the keys retires the row rather than
-- deleting it: payments made under it are refunded, and their webhooks verified, with its keys.
CREATE TABLE payment_accounts (
    id                   TEXT PRIMARY KEY NOT NULL,
    operator_id          TEXT NOT NULL REFERENCES operators (id),
    provider             TEXT NOT NULL,
    mode                 TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    secret_key_sealed    TEXT NOT NULL,
    secret_key_mask      TEXT NOT NULL,
    publishable_key      TEXT NOT NULL,
    webhook_secret_sealed TEXT NOT NULL,
    webhook_secret_mask  TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    created_by           TEXT,
    retired_at           TEXT
);
CREATE INDEX payment_accounts_operator ON payment_accounts (operator_id, retired_at);
