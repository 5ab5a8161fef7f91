-- Messages to travelers, written in the same transaction as the change that causes them and
-- sent by the dispatcher. `dedupe_key` (booking + kind + channel) makes one event enqueue once.
CREATE TABLE outbox (
    id               CHAR(26) NOT NULL PRIMARY KEY,
    operator_id      CHAR(26) NOT NULL,
    booking_id       CHAR(26) NOT NULL,
    kind             VARCHAR(32) NOT NULL,
    channel          VARCHAR(8) NOT NULL,
    dedupe_key       VARCHAR(96) NOT NULL,
    status           VARCHAR(16) NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  DATETIME(3) NOT NULL,
    locked_until     DATETIME(3) NULL,
    last_error       VARCHAR(500) NULL,
    created_at       DATETIME(3) NOT NULL,
    sent_at          DATETIME(3) NULL,
    provider_id      VARCHAR(64) NULL,
    delivery_status  VARCHAR(32) NULL,
    UNIQUE KEY outbox_dedupe (dedupe_key),
    KEY outbox_due (status, next_attempt_at),
    KEY outbox_operator (operator_id, status, created_at),
    KEY outbox_provider (provider_id),
    CONSTRAINT outbox_channel_ck CHECK (channel IN ('email', 'sms')),
    CONSTRAINT outbox_status_ck CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead')),
    CONSTRAINT outbox_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id),
    CONSTRAINT outbox_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
