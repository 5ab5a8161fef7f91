-- Travelers waiting for seats on a sold-out departure, served in the order they joined
-- (`joined_at`, then `id`). `status`: `waiting` (owed the first seats that free up, if they fit),
-- `offered` (berth placed the hold `booking_id` for them), `removed` (by the operator). `items`
-- is the units wanted, as JSON (`[{"unit": "adult", "quantity": 2}]`); `seats` their sum. An entry
-- needs an email or a phone (`customer_email` is '' without one). Entries are purged 30 days after
-- their departure.
CREATE TABLE waitlist_entries (
    id                TEXT NOT NULL PRIMARY KEY,
    operator_id       TEXT NOT NULL REFERENCES operators (id),
    departure_id      TEXT NOT NULL REFERENCES departures (id) ON DELETE CASCADE,
    customer_name     TEXT NOT NULL,
    customer_email    TEXT NOT NULL,
    customer_phone    TEXT NULL,
    customer_language TEXT NOT NULL,
    items             TEXT NOT NULL,
    seats             INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'removed')),
    booking_id        TEXT NULL,
    joined_at         TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX waitlist_entries_line ON waitlist_entries (departure_id, status, joined_at);
CREATE INDEX waitlist_entries_status ON waitlist_entries (status, departure_id);
