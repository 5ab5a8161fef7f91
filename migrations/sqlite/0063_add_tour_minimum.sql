-- Guaranteed departures: a tour may need a minimum of participants (0: none), decided this many
-- hours before each departure.
ALTER TABLE tours ADD COLUMN min_participants INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tours ADD COLUMN decision_hours INTEGER NOT NULL DEFAULT 48;
