-- The customer email as the hold limits count it (lowercased, without a +tag), as a keyed hash.
ALTER TABLE bookings ADD COLUMN hold_email TEXT;
