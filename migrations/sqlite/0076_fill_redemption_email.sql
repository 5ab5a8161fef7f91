-- Redemptions made before 0075 take their booking's email as it is now: the best record there is.
UPDATE promo_redemptions SET customer_email =
    (SELECT LOWER(b.customer_email) FROM bookings b WHERE b.id = promo_redemptions.booking_id);
