-- Departures. seats_taken is the sum of seats of the occurrence's held, confirmed and checked-in
-- bookings; the CHECK is a last line of defence behind the locked booking transaction.
CREATE TABLE occurrences (
    id           CHAR(26) NOT NULL PRIMARY KEY,
    tour_id      CHAR(26) NOT NULL,
    schedule_id  CHAR(26) NULL,
    starts_at    DATETIME(3) NOT NULL,
    capacity     BIGINT NOT NULL,
    seats_taken  BIGINT NOT NULL DEFAULT 0,
    status       VARCHAR(16) NOT NULL DEFAULT 'scheduled',
    created_at   DATETIME(3) NOT NULL,
    updated_at   DATETIME(3) NOT NULL,
    UNIQUE KEY occurrences_schedule_start (schedule_id, starts_at),
    KEY occurrences_tour_start (tour_id, starts_at),
    CONSTRAINT occurrences_status_ck CHECK (status IN ('scheduled', 'cancelled')),
    CONSTRAINT occurrences_seats_ck CHECK (seats_taken >= 0 AND seats_taken <= capacity),
    CONSTRAINT occurrences_tour_fk FOREIGN KEY (tour_id) REFERENCES tours (id),
    CONSTRAINT occurrences_schedule_fk FOREIGN KEY (schedule_id) REFERENCES schedules (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
