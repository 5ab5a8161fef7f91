-- An operator's own Stripe account: the keys its online payments and refunds use instead of the
-- instance's BERTH_STRIPE_SECRET_KEY. The secret key and the webhook secret are sealed under
-- BERTH_SECRET_KEY (ChaCha20-Poly1305, the row id as associated data); only their masks
-- (prefix and last four) are kept in clear. Replacing the keys retires the row rather than
-- deleting it: payments made under it are refunded, and their webhooks verified, with its keys.
CREATE TABLE payment_accounts (
    id                    CHAR(26) NOT NULL PRIMARY KEY,
    operator_id           CHAR(26) NOT NULL,
    provider              VARCHAR(16) NOT NULL,
    mode                  VARCHAR(8) NOT NULL,
    secret_key_sealed     VARCHAR(1024) NOT NULL,
    secret_key_mask       VARCHAR(32) NOT NULL,
    publishable_key       VARCHAR(300) NOT NULL,
    webhook_secret_sealed VARCHAR(1024) NOT NULL,
    webhook_secret_mask   VARCHAR(32) NOT NULL,
    created_at            DATETIME(3) NOT NULL,
    created_by            CHAR(26) NULL,
    retired_at            DATETIME(3) NULL,
    KEY payment_accounts_operator (operator_id, retired_at),
    CONSTRAINT payment_accounts_mode_ck CHECK (mode IN ('test', 'live')),
    CONSTRAINT payment_accounts_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
