-- Who leads each departure: an operator's users (usually of the guide role). A guide leads one
-- departure at a time; the service refuses an overlapping assignment under the user's lock.
CREATE TABLE departure_guides (
    departure_id CHAR(26) NOT NULL,
    user_id      CHAR(26) NOT NULL,
    operator_id  CHAR(26) NOT NULL,
    assigned_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (departure_id, user_id),
    KEY departure_guides_user (user_id),
    CONSTRAINT departure_guides_departure_fk FOREIGN KEY (departure_id) REFERENCES departures (id) ON DELETE CASCADE,
    CONSTRAINT departure_guides_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
