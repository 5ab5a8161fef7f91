-- A waiting entry whose departure's sales closed (cutoff passed, departed, cancelled, tour
-- archived) ends `closed`: the line is over, and berth told the traveler so.
-- SQLite cannot change a CHECK constraint: the table is rebuilt with every column it had at 0074
-- (nothing later altered it), and its indexes are made again. Nothing references it.
CREATE TABLE waitlist_entries_new (
    id                TEXT NOT NULL PRIMARY KEY,
    operator_id       TEXT NOT NULL REFERENCES operators (id),
    departure_id      TEXT NOT NULL REFERENCES departures (id) ON DELETE CASCADE,
    customer_name     TEXT NOT NULL,
    customer_email    TEXT NOT NULL,
    customer_phone    TEXT NULL,
    customer_language TEXT NOT NULL,
    items             TEXT NOT NULL,
    seats             INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'removed', 'closed')),
    booking_id        TEXT NULL,
    joined_at         TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
INSERT INTO waitlist_entries_new (id, operator_id, departure_id, customer_name, customer_email,
    customer_phone, customer_language, items, seats, status, booking_id, joined_at, updated_at)
SELECT id, operator_id, departure_id, customer_name, customer_email, customer_phone,
    customer_language, items, seats, status, booking_id, joined_at, updated_at
FROM waitlist_entries;
DROP TABLE waitlist_entries;
ALTER TABLE waitlist_entries_new RENAME TO waitlist_entries;
CREATE INDEX waitlist_entries_line ON waitlist_entries (departure_id, status, joined_at);
CREATE INDEX waitlist_entries_status ON waitlist_entries (status, departure_id);
