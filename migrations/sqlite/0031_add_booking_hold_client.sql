-- Who made a hold, as the hold limits count it: a keyed hash (HMAC under BERTH_SECRET_KEY) of
-- the client address, an IPv6 one by its /64. Never the address itself.
ALTER TABLE bookings ADD COLUMN hold_client TEXT;
