-- Incoming Idempotency-Key headers: one row per (scope, key), with the request's fingerprint and,
-- once done, the response to replay. Purged after `expires_at`. Keys compare byte for byte
-- (VARBINARY), not under the case-insensitive collation of the text columns.
CREATE TABLE idempotency_keys (
    scope            VARBINARY(64) NOT NULL,
    idem_key         VARBINARY(255) NOT NULL,
    fingerprint      CHAR(64) NOT NULL,
    state            VARCHAR(16) NOT NULL,
    response_status  BIGINT NULL,
    response_body    MEDIUMTEXT NULL,
    locked_at        DATETIME(3) NOT NULL,
    created_at       DATETIME(3) NOT NULL,
    expires_at       DATETIME(3) NOT NULL,
    PRIMARY KEY (scope, idem_key),
    KEY idempotency_keys_expiry (expires_at),
    CONSTRAINT idempotency_keys_state_ck CHECK (state IN ('in_flight', 'done'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
