-- When each departure's last availability.changed event was written: the debounce (at most one
-- per departure per second), claimed by a conditional write so two instances never both send.
CREATE TABLE webhook_availability_sent (
    departure_id TEXT PRIMARY KEY NOT NULL,
    sent_at      TEXT NOT NULL
);
