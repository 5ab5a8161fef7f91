-- Domains the instance owner approved (`berth operator allow-sender-domain`) for one operator's
-- traveler emails. A domain belongs to at most one operator, so no tenant sends as another.
CREATE TABLE sender_domains (
    domain       VARCHAR(253) NOT NULL PRIMARY KEY,
    operator_id  CHAR(26) NOT NULL,
    approved_at  DATETIME(3) NOT NULL,
    KEY sender_domains_operator (operator_id),
    CONSTRAINT sender_domains_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
