-- The booking's departure column follows the table's new name (0036).
ALTER TABLE bookings RENAME COLUMN occurrence_id TO departure_id;
