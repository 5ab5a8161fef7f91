-- MySQL drops the bookings -> departures foreign key here (see its 0053). SQLite keeps it: its one
-- writer holds the database for the whole transaction, so the key's check locks nothing more and
-- a hold takes its seats first, as before. Nothing to change; the version is kept in step.
SELECT 1;
