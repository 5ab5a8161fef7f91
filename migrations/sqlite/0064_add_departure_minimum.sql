-- A departure's own minimum and decision time (NULL: its tour's), and when it was guaranteed to
-- run (by berth's decision or the operator's).
ALTER TABLE departures ADD COLUMN min_participants INTEGER;
ALTER TABLE departures ADD COLUMN decision_hours INTEGER;
ALTER TABLE departures ADD COLUMN guaranteed_at TEXT;
