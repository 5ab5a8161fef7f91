-- Departures. seats_taken is the sum of seats of the occurrence's held, confirmed and checked-in
-- bookings; the CHECK is a last line of defence behind the locked booking transaction.
CREATE TABLE occurrences (
    id           TEXT PRIMARY KEY NOT NULL,
    tour_id      TEXT NOT NULL REFERENCES tours (id),
    schedule_id  TEXT REFERENCES schedules (id),
    starts_at    TEXT NOT NULL,
    capacity     INTEGER NOT NULL,
    seats_taken  INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CHECK (seats_taken >= 0 AND seats_taken <= capacity),
    UNIQUE (schedule_id, starts_at)
);
CREATE INDEX occurrences_tour_start ON occurrences (tour_id, starts_at);
