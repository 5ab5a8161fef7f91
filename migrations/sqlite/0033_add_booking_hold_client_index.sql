-- Seats one client address holds right now: counted on every hold while limits are on.
CREATE INDEX bookings_hold_client ON bookings (hold_client, status, expires_at);
