-- One row per booking that used a promo code, written in the hold's transaction under the code's
-- lock. `released_at` is set when the booking stops holding seats (its hold lapsed, it was
-- cancelled): a released redemption no longer counts against the code's maximum.
CREATE TABLE promo_redemptions (
    booking_id   CHAR(26) NOT NULL PRIMARY KEY,
    code_id      CHAR(26) NOT NULL,
    operator_id  CHAR(26) NOT NULL,
    discount     BIGINT NOT NULL,
    redeemed_at  DATETIME(3) NOT NULL,
    released_at  DATETIME(3) NULL,
    KEY promo_redemptions_code (code_id, released_at),
    CONSTRAINT promo_redemptions_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id),
    CONSTRAINT promo_redemptions_code_fk FOREIGN KEY (code_id) REFERENCES promo_codes (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
