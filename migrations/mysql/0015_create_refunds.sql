-- Refunds, written in the same transaction as the cancellation that causes them and then sent
-- to the provider (a transactional outbox for money). The provider call's idempotency key is
-- derived from `id`, so a retry never refunds twice. `pending`: not yet accepted by the
-- provider; `succeeded`: accepted (and in the ledger); `failed`: refused, needs an operator.
CREATE TABLE refunds (
    id                  CHAR(26) NOT NULL PRIMARY KEY,
    booking_id          CHAR(26) NOT NULL,
    operator_id         CHAR(26) NOT NULL,
    amount              BIGINT NOT NULL,
    currency            CHAR(3) NOT NULL,
    provider            VARCHAR(16) NOT NULL,
    reason              VARCHAR(32) NOT NULL,
    status              VARCHAR(16) NOT NULL,
    provider_refund_id  VARCHAR(255) NULL,
    attempts            INT NOT NULL DEFAULT 0,
    next_attempt_at     DATETIME(3) NOT NULL,
    last_error          VARCHAR(300) NULL,
    created_at          DATETIME(3) NOT NULL,
    updated_at          DATETIME(3) NOT NULL,
    UNIQUE KEY refunds_provider_id (provider_refund_id),
    KEY refunds_booking (booking_id),
    KEY refunds_due (status, next_attempt_at),
    CONSTRAINT refunds_amount_ck CHECK (amount > 0),
    CONSTRAINT refunds_status_ck CHECK (status IN ('pending', 'succeeded', 'failed')),
    CONSTRAINT refunds_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id),
    CONSTRAINT refunds_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
