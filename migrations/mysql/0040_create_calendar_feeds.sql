-- Secret iCalendar feed URLs of a tour's departures, for phones and calendar apps to subscribe
-- to. Only the token's hash is kept; a revoked feed answers 404.
CREATE TABLE calendar_feeds (
    id           CHAR(26) NOT NULL PRIMARY KEY,
    operator_id  CHAR(26) NOT NULL,
    tour_id      CHAR(26) NOT NULL,
    token_hash   CHAR(64) NOT NULL,
    label        VARCHAR(400) NOT NULL,
    created_at   DATETIME(3) NOT NULL,
    revoked_at   DATETIME(3) NULL,
    UNIQUE KEY calendar_feeds_token (token_hash),
    KEY calendar_feeds_tour (tour_id),
    CONSTRAINT calendar_feeds_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id),
    CONSTRAINT calendar_feeds_tour_fk FOREIGN KEY (tour_id) REFERENCES tours (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
