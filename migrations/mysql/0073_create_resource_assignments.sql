-- Which departures draw on a resource: every departure of a tour (`schedule_id` NULL) or only
-- those one of its schedules makes. A hold reads its tour's rows here to learn which resources
-- to lock.
CREATE TABLE resource_assignments (
    id          CHAR(26) NOT NULL PRIMARY KEY,
    resource_id CHAR(26) NOT NULL,
    tour_id     CHAR(26) NOT NULL,
    schedule_id CHAR(26) NULL,
    operator_id CHAR(26) NOT NULL,
    assigned_at DATETIME(3) NOT NULL,
    KEY resource_assignments_tour (tour_id),
    KEY resource_assignments_resource (resource_id),
    CONSTRAINT resource_assignments_resource_fk FOREIGN KEY (resource_id) REFERENCES resources (id),
    CONSTRAINT resource_assignments_tour_fk FOREIGN KEY (tour_id) REFERENCES tours (id),
    CONSTRAINT resource_assignments_schedule_fk FOREIGN KEY (schedule_id) REFERENCES schedules (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
