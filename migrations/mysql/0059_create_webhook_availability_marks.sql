-- availability.changed, debounced: each change to a departure's seats (or capacity, or status)
-- adds a mark in its own transaction when the operator has a subscriber. The worker turns a
-- departure's marks into at most one event per second carrying the latest numbers. Insert-only,
-- so a hold's mark never waits for another's.
CREATE TABLE webhook_availability_marks (
    id           CHAR(26) NOT NULL PRIMARY KEY,
    departure_id CHAR(26) NOT NULL,
    operator_id  CHAR(26) NOT NULL,
    created_at   DATETIME(3) NOT NULL,
    KEY webhook_availability_marks_departure (departure_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
