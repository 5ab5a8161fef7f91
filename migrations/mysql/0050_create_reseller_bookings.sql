-- What a reseller's booking carries beyond the booking itself: the reseller's own uuid for it
-- (its idempotency key, unique per reseller), its reference, the contact and notes exactly as
-- the reseller sent them (JSON, echoed back by OCTO), and one uuid per traveller (`unit_items`,
-- JSON `[{"uuid", "unitId"}]`), and, once cancelled, the refund the
-- tour's policy gave (FULL, PARTIAL, NONE) and the reseller's reason. A booking with a row here was sold by that reseller.
CREATE TABLE reseller_bookings (
    booking_id          CHAR(26) NOT NULL PRIMARY KEY,
    reseller_id         CHAR(26) NOT NULL,
    uuid                VARCHAR(100) NOT NULL,
    reseller_reference  VARCHAR(255) NULL,
    contact             TEXT NOT NULL,
    notes               TEXT NULL,
    unit_items          TEXT NOT NULL,
    confirmed_at        DATETIME(3) NULL,
    cancel_refund       VARCHAR(10) NULL,
    cancel_note         TEXT NULL,
    created_at          DATETIME(3) NOT NULL,
    UNIQUE KEY reseller_bookings_uuid (reseller_id, uuid),
    KEY reseller_bookings_reference (reseller_id, reseller_reference),
    CONSTRAINT reseller_bookings_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id),
    CONSTRAINT reseller_bookings_reseller_fk FOREIGN KEY (reseller_id) REFERENCES resellers (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
