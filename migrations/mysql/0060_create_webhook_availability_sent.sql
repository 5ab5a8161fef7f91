-- When each departure's last availability.changed event was written: the debounce (at most one
-- per departure per second), claimed by a conditional write so two instances never both send.
CREATE TABLE webhook_availability_sent (
    departure_id CHAR(26) NOT NULL PRIMARY KEY,
    sent_at      DATETIME(3) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
