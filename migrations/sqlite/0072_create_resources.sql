-- Shared resources: a boat, a bus, a guide whose capacity departures of several tours draw on at
-- once. `draw` says how a departure draws: `seats` (its live seats) or `departure` (one unit while
-- it runs). Every seat taken on a departure that draws on a resource is counted under this row's
-- lock, so no race passes the capacity.
CREATE TABLE resources (
    id          TEXT NOT NULL PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    name        TEXT NOT NULL,
    capacity    INTEGER NOT NULL,
    draw        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX resources_operator ON resources (operator_id, name);
