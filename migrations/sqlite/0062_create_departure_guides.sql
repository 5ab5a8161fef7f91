-- Who leads each departure: an operator's users (usually of the guide role). A guide leads one
-- departure at a time; the service refuses an overlapping assignment under the user's lock.
CREATE TABLE departure_guides (
    departure_id TEXT NOT NULL REFERENCES departures (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id),
    operator_id  TEXT NOT NULL,
    assigned_at  TEXT NOT NULL,
    PRIMARY KEY (departure_id, user_id)
);
CREATE INDEX departure_guides_user ON departure_guides (user_id);
