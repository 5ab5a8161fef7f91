-- Which departures draw on a resource: every departure of a tour (`schedule_id` NULL) or only
-- those one of its schedules makes. A hold reads its tour's rows here to learn which resources
-- to lock.
CREATE TABLE resource_assignments (
    id          TEXT NOT NULL PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources (id),
    tour_id     TEXT NOT NULL REFERENCES tours (id),
    schedule_id TEXT NULL REFERENCES schedules (id),
    operator_id TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE INDEX resource_assignments_tour ON resource_assignments (tour_id);
CREATE INDEX resource_assignments_resource ON resource_assignments (resource_id);
