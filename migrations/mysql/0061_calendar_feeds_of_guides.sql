-- A calendar feed is a tour's (its departures) or a guide's (the departures they are assigned
-- to): `tour_id` becomes optional and `user_id` names the guide, exactly one of the two.
ALTER TABLE calendar_feeds
    MODIFY tour_id CHAR(26) NULL,
    ADD COLUMN user_id CHAR(26) NULL AFTER tour_id,
    ADD KEY calendar_feeds_user (user_id),
    ADD CONSTRAINT calendar_feeds_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    ADD CONSTRAINT calendar_feeds_one_subject CHECK ((tour_id IS NULL) <> (user_id IS NULL));
