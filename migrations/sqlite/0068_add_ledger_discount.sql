-- The ledger records discounts: a booking's first payment entry carries what its promo code took
-- off (never money that moved, so it is not part of `amount` and every sum of amounts stays true).
ALTER TABLE ledger_entries ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;
