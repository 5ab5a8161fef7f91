-- Per-operator sender of traveler emails; NULL falls back to BERTH_MAIL_FROM.
ALTER TABLE operators ADD COLUMN mail_from VARCHAR(320) NULL, ADD COLUMN reply_to VARCHAR(320) NULL;
