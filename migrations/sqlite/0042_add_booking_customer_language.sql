-- The language of the traveler's emails and SMS (a code of `domain::lang::Lang`); bookings made
-- before it existed were written to in English.
ALTER TABLE bookings ADD COLUMN customer_language VARCHAR(8) NOT NULL DEFAULT 'en';
