-- What a reseller's booking carries beyond the booking itself: the reseller's own uuid for it
-- (its idempotency key, unique per reseller), its reference, the contact and notes exactly as
-- the reseller sent them (JSON, echoed back by OCTO), and one uuid per traveller (`unit_items`,
-- JSON `[{"uuid", "unitId"}]`), and, once cancelled, the refund the
-- tour's policy gave (FULL, PARTIAL, NONE) and the reseller's reason. A booking with a row here was sold by that reseller.
CREATE TABLE reseller_bookings (
    booking_id          TEXT PRIMARY KEY NOT NULL REFERENCES bookings (id),
    reseller_id         TEXT NOT NULL REFERENCES resellers (id),
    uuid                TEXT NOT NULL,
    reseller_reference  TEXT,
    contact             TEXT NOT NULL,
    notes               TEXT,
    unit_items          TEXT NOT NULL,
    confirmed_at        TEXT,
    cancel_refund       TEXT,
    cancel_note         TEXT,
    created_at          TEXT NOT NULL,
    UNIQUE (reseller_id, uuid)
);
CREATE INDEX reseller_bookings_reference ON reseller_bookings (reseller_id, reseller_reference);
