-- An archived tour is no longer sold (no new holds, departures or schedules) and is gone from the
-- public catalogue; its bookings stay. NULL: on sale.
ALTER TABLE tours ADD COLUMN archived_at DATETIME(3) NULL;
