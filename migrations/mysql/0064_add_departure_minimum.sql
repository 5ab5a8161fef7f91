-- A departure's own minimum and decision time (NULL: its tour's), and when it was guaranteed to
-- run (by berth's decision or the operator's).
ALTER TABLE departures
    ADD COLUMN min_participants INT NULL,
    ADD COLUMN decision_hours INT NULL,
    ADD COLUMN guaranteed_at DATETIME(3) NULL;
