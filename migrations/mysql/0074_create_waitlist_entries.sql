-- Travelers waiting for seats on a sold-out departure, served in the order they joined
-- (`joined_at`, then `id`). `status`: `waiting` (owed the first seats that free up, if they fit),
-- `offered` (berth placed the hold `booking_id` for them), `removed` (by the operator). `items`
-- is the units wanted, as JSON (`[{"unit": "adult", "quantity": 2}]`); `seats` their sum. An entry
-- needs an email or a phone (`customer_email` is '' without one). Entries are purged 30 days after
-- their departure.
CREATE TABLE waitlist_entries (
    id                CHAR(26) NOT NULL PRIMARY KEY,
    operator_id       CHAR(26) NOT NULL,
    departure_id      CHAR(26) NOT NULL,
    customer_name     VARCHAR(200) NOT NULL,
    customer_email    VARCHAR(254) NOT NULL,
    customer_phone    VARCHAR(32) NULL,
    customer_language VARCHAR(8) NOT NULL,
    items             TEXT NOT NULL,
    seats             INT NOT NULL,
    status            VARCHAR(16) NOT NULL,
    booking_id        CHAR(26) NULL,
    joined_at         DATETIME(3) NOT NULL,
    updated_at        DATETIME(3) NOT NULL,
    KEY waitlist_entries_line (departure_id, status, joined_at),
    KEY waitlist_entries_status (status, departure_id),
    CONSTRAINT waitlist_entries_status_ck CHECK (status IN ('waiting', 'offered', 'removed')),
    CONSTRAINT waitlist_entries_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id),
    CONSTRAINT waitlist_entries_departure_fk FOREIGN KEY (departure_id) REFERENCES departures (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
