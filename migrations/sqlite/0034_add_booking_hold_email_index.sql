-- Seats one customer email holds right now: counted on every hold while limits are on.
CREATE INDEX bookings_hold_email ON bookings (hold_email, status, expires_at);
