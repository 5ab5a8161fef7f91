-- Bookings. `seats` is the sum of the item quantities, kept here so seat accounting needs no join.
CREATE TABLE bookings (
    id                 TEXT PRIMARY KEY NOT NULL,
    reference          TEXT NOT NULL UNIQUE,
    access_token_hash  TEXT NOT NULL UNIQUE,
    occurrence_id      TEXT NOT NULL REFERENCES occurrences (id),
    tour_id            TEXT NOT NULL REFERENCES tours (id),
    operator_id        TEXT NOT NULL REFERENCES operators (id),
    status             TEXT NOT NULL
        CHECK (status IN ('held', 'confirmed', 'checked_in', 'expired', 'cancelled')),
    seats              INTEGER NOT NULL CHECK (seats > 0),
    total              INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    customer_name      TEXT NOT NULL,
    customer_email     TEXT NOT NULL,
    customer_phone     TEXT,
    expires_at         TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX bookings_occurrence_status ON bookings (occurrence_id, status, expires_at);
CREATE INDEX bookings_status_expiry ON bookings (status, expires_at);
