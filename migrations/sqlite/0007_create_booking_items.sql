-- The priced lines of a booking; unit_price is frozen at booking time.
CREATE TABLE booking_items (
    booking_id  TEXT NOT NULL REFERENCES bookings (id),
    unit_code   TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  INTEGER NOT NULL,
    PRIMARY KEY (booking_id, unit_code)
);
