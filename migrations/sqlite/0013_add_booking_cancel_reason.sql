-- Why a booking was cancelled: traveler, operator, departure_cancelled, payment_failed,
-- payment_canceled, payment_unavailable or sold_out_after_payment. NULL for other states.
ALTER TABLE bookings ADD COLUMN cancel_reason TEXT;
