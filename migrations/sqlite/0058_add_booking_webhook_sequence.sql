-- Each webhook event about a booking carries the next number of this counter, so receivers can
-- put events that arrive out of order back in order.
ALTER TABLE bookings ADD COLUMN webhook_sequence INTEGER NOT NULL DEFAULT 0;
