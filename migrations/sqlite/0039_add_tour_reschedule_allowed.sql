-- Whether travelers may move their booking to another departure of the same tour themselves
-- (manage page, `POST /v1/bookings/{reference}/reschedule`). 1 (allowed) by default.
ALTER TABLE tours ADD COLUMN reschedule_allowed INTEGER NOT NULL DEFAULT 1;
