-- Recurring schedules; `times` and `exceptions` are JSON arrays of local "HH:MM" / "YYYY-MM-DD".
CREATE TABLE schedules (
    id                  TEXT PRIMARY KEY NOT NULL,
    tour_id             TEXT NOT NULL REFERENCES tours (id),
    rrule               TEXT NOT NULL,
    start_date          TEXT NOT NULL,
    until_date          TEXT,
    times               TEXT NOT NULL,
    exceptions          TEXT NOT NULL,
    capacity            INTEGER NOT NULL,
    materialized_until  TEXT,
    created_at          TEXT NOT NULL
);
CREATE INDEX schedules_tour ON schedules (tour_id);
