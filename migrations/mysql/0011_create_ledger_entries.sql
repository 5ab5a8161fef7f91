-- Every money movement, append-only: rows are inserted, never updated or deleted. Amounts are
-- signed minor units (payments positive, refunds negative). Reports derive from this table only.
CREATE TABLE ledger_entries (
    id                  CHAR(26) NOT NULL PRIMARY KEY,
    operator_id         CHAR(26) NOT NULL,
    booking_id          CHAR(26) NOT NULL,
    kind                VARCHAR(16) NOT NULL,
    amount              BIGINT NOT NULL,
    currency            CHAR(3) NOT NULL,
    provider            VARCHAR(16) NOT NULL,
    provider_reference  VARCHAR(255) NULL,
    created_at          DATETIME(3) NOT NULL,
    KEY ledger_operator_time (operator_id, created_at),
    KEY ledger_booking (booking_id),
    CONSTRAINT ledger_kind_ck CHECK (kind IN ('payment', 'refund', 'fee')),
    CONSTRAINT ledger_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id),
    CONSTRAINT ledger_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
