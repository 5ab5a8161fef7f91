-- Bookings. `seats` is the sum of the item quantities, kept here so seat accounting needs no join.
CREATE TABLE bookings (
    id                 CHAR(26) NOT NULL PRIMARY KEY,
    reference          CHAR(8) NOT NULL,
    access_token_hash  CHAR(64) NOT NULL,
    occurrence_id      CHAR(26) NOT NULL,
    tour_id            CHAR(26) NOT NULL,
    operator_id        CHAR(26) NOT NULL,
    status             VARCHAR(16) NOT NULL,
    seats              BIGINT NOT NULL,
    total              BIGINT NOT NULL,
    currency           CHAR(3) NOT NULL,
    customer_name      VARCHAR(200) NOT NULL,
    customer_email     VARCHAR(254) NOT NULL,
    customer_phone     VARCHAR(16) NULL,
    expires_at         DATETIME(3) NULL,
    created_at         DATETIME(3) NOT NULL,
    updated_at         DATETIME(3) NOT NULL,
    UNIQUE KEY bookings_reference (reference),
    UNIQUE KEY bookings_access_token (access_token_hash),
    KEY bookings_occurrence_status (occurrence_id, status, expires_at),
    KEY bookings_status_expiry (status, expires_at),
    CONSTRAINT bookings_status_ck
        CHECK (status IN ('held', 'confirmed', 'checked_in', 'expired', 'cancelled')),
    CONSTRAINT bookings_seats_ck CHECK (seats > 0),
    CONSTRAINT bookings_occurrence_fk FOREIGN KEY (occurrence_id) REFERENCES occurrences (id),
    CONSTRAINT bookings_tour_fk FOREIGN KEY (tour_id) REFERENCES tours (id),
    CONSTRAINT bookings_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
