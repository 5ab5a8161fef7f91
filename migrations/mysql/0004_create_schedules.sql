-- Recurring schedules; `times` and `exceptions` are JSON arrays of local "HH:MM" / "YYYY-MM-DD".
CREATE TABLE schedules (
    id                  CHAR(26) NOT NULL PRIMARY KEY,
    tour_id             CHAR(26) NOT NULL,
    rrule               VARCHAR(500) NOT NULL,
    start_date          CHAR(10) NOT NULL,
    until_date          CHAR(10) NULL,
    times               TEXT NOT NULL,
    exceptions          TEXT NOT NULL,
    capacity            BIGINT NOT NULL,
    materialized_until  DATETIME(3) NULL,
    created_at          DATETIME(3) NOT NULL,
    KEY schedules_tour (tour_id),
    CONSTRAINT schedules_tour_fk FOREIGN KEY (tour_id) REFERENCES tours (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
