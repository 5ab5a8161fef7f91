-- What resellers owe for the bookings they sold on account, append-only like the ledger: each
-- confirmation, change or cancellation of a reseller's booking adds the difference it makes.
-- `gross` is the retail price (signed minor units), `commission` the reseller's share of it; the
-- reseller owes the operator `gross - commission`.
CREATE TABLE reseller_receivables (
    id           CHAR(26) NOT NULL PRIMARY KEY,
    operator_id  CHAR(26) NOT NULL,
    reseller_id  CHAR(26) NOT NULL,
    booking_id   CHAR(26) NOT NULL,
    gross        BIGINT NOT NULL,
    commission   BIGINT NOT NULL,
    currency     CHAR(3) NOT NULL,
    created_at   DATETIME(3) NOT NULL,
    KEY reseller_receivables_operator_time (operator_id, created_at),
    KEY reseller_receivables_booking (booking_id),
    CONSTRAINT reseller_receivables_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id),
    CONSTRAINT reseller_receivables_reseller_fk FOREIGN KEY (reseller_id) REFERENCES resellers (id),
    CONSTRAINT reseller_receivables_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
