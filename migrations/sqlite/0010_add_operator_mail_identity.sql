-- Per-operator sender of traveler emails; NULL falls back to BERTH_MAIL_FROM.
ALTER TABLE operators ADD COLUMN mail_from TEXT;
ALTER TABLE operators ADD COLUMN reply_to TEXT;
