-- Prices by date: a tour's seasonal price rules (a JSON array, each rule a date range, days of the
-- week, a start-time window and prices per unit), read with the tour so every price a departure
-- shows or sells at is computed without another query. Changed under the tour's row lock.
ALTER TABLE tours ADD COLUMN price_rules TEXT NULL;
