-- availability.changed, debounced: each change to a departure's seats (or capacity, or status)
-- adds a mark in its own transaction when the operator has a subscriber. The worker turns a
-- departure's marks into at most one event per second carrying the latest numbers. Insert-only,
-- so a hold's mark never waits for another's.
CREATE TABLE webhook_availability_marks (
    id           TEXT PRIMARY KEY NOT NULL,
    departure_id TEXT NOT NULL,
    operator_id  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX webhook_availability_marks_departure ON webhook_availability_marks (departure_id);
