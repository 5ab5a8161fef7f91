-- A departure's manifest is read a page at a time in (created_at, id) order (keyset pagination).
CREATE INDEX bookings_departure_created ON bookings (departure_id, created_at, id);
