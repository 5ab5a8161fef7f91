-- A hold writes its booking before it takes the seats (the departure's row lock is then held
-- for one statement and the commit). InnoDB checks a foreign key by taking a shared lock on the
-- parent row, so with this key every concurrent hold would hold a shared lock on the departure
-- and then wait for the exclusive one: a deadlock per pair. Every write of a booking's
-- departure_id updates that departure's row in the same transaction (the seats), and departures
-- with bookings are never deleted (storage::departures::delete_unbooked), so the reference holds
-- without the key; `berth check` verifies it.
ALTER TABLE bookings DROP FOREIGN KEY bookings_occurrence_fk;
