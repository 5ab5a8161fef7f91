-- A calendar feed is a tour's (its departures) or a guide's (the departures they are assigned
-- to): `tour_id` becomes optional and `user_id` names the guide, exactly one of the two.
-- SQLite cannot relax NOT NULL in place, so the table is rebuilt (nothing references it).
CREATE TABLE calendar_feeds_new (
    id           TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    tour_id      TEXT REFERENCES tours (id),
    user_id      TEXT REFERENCES users (id),
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    CHECK ((tour_id IS NULL) <> (user_id IS NULL))
);
INSERT INTO calendar_feeds_new (id, operator_id, tour_id, user_id, token_hash, label, created_at, revoked_at)
    SELECT id, operator_id, tour_id, NULL, token_hash, label, created_at, revoked_at FROM calendar_feeds;
DROP TABLE calendar_feeds;
ALTER TABLE calendar_feeds_new RENAME TO calendar_feeds;
CREATE INDEX calendar_feeds_tour ON calendar_feeds (tour_id);
CREATE INDEX calendar_feeds_user ON calendar_feeds (user_id);
