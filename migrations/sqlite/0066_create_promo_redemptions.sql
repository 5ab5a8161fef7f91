-- One row per booking that used a promo code, written in the hold's transaction under the code's
-- lock. `released_at` is set when the booking stops holding seats (its hold lapsed, it was
-- cancelled): a released redemption no longer counts against the code's maximum.
CREATE TABLE promo_redemptions (
    booking_id   TEXT NOT NULL PRIMARY KEY REFERENCES bookings (id),
    code_id      TEXT NOT NULL REFERENCES promo_codes (id),
    operator_id  TEXT NOT NULL,
    discount     INTEGER NOT NULL,
    redeemed_at  TEXT NOT NULL,
    released_at  TEXT NULL
);
CREATE INDEX promo_redemptions_code ON promo_redemptions (code_id, released_at);
