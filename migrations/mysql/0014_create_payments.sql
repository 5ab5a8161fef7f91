-- One online payment per booking (a Stripe PaymentIntent). The row is written with the hold,
-- before Stripe is called; `intent_id` and `client_secret` arrive with Stripe's answer (or with
-- the webhook, whichever comes first). `status` mirrors the PaymentIntent's status.
CREATE TABLE payments (
    booking_id     CHAR(26) NOT NULL PRIMARY KEY,
    operator_id    CHAR(26) NOT NULL,
    provider       VARCHAR(16) NOT NULL,
    intent_id      VARCHAR(255) NULL,
    client_secret  VARCHAR(255) NULL,
    status         VARCHAR(32) NOT NULL,
    amount         BIGINT NOT NULL,
    currency       CHAR(3) NOT NULL,
    created_at     DATETIME(3) NOT NULL,
    updated_at     DATETIME(3) NOT NULL,
    UNIQUE KEY payments_intent (intent_id),
    CONSTRAINT payments_amount_ck CHECK (amount > 0),
    CONSTRAINT payments_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id),
    CONSTRAINT payments_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
