-- What a promo code took off a booking, and the code as the traveler typed it (normalized), frozen
-- at hold time like the unit prices: `total` is what is owed after the discount.
ALTER TABLE bookings
    ADD COLUMN discount BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN promo_code VARCHAR(32) NULL;
