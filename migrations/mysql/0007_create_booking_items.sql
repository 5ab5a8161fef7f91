-- The priced lines of a booking; unit_price is frozen at booking time.
CREATE TABLE booking_items (
    booking_id  CHAR(26) NOT NULL,
    unit_code   VARCHAR(32) NOT NULL,
    quantity    BIGINT NOT NULL,
    unit_price  BIGINT NOT NULL,
    PRIMARY KEY (booking_id, unit_code),
    CONSTRAINT booking_items_quantity_ck CHECK (quantity > 0),
    CONSTRAINT booking_items_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
