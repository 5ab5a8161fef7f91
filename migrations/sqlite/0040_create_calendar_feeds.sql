-- Secret iCalendar feed URLs of a tour's departures, for phones and calendar apps to subscribe
-- to. Only the token's hash is kept; a revoked feed answers 404.
CREATE TABLE calendar_feeds (
    id           TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    tour_id      TEXT NOT NULL REFERENCES tours (id),
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX calendar_feeds_tour ON calendar_feeds (tour_id);
