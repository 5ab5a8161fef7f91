-- The traveler email a redemption was made with, lower-cased: a code's limit per traveler counts
-- redemptions by it, so a booking whose email changes afterwards still counts for the email it
-- redeemed the code with (and the new address does not inherit the use).
ALTER TABLE promo_redemptions ADD COLUMN customer_email TEXT NOT NULL DEFAULT '';
