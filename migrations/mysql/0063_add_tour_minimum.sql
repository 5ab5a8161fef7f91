-- Guaranteed departures: a tour may need a minimum of participants (0: none), decided this many
-- hours before each departure.
ALTER TABLE tours
    ADD COLUMN min_participants INT NOT NULL DEFAULT 0,
    ADD COLUMN decision_hours INT NOT NULL DEFAULT 48;
