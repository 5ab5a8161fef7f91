-- Domains the instance owner approved (`berth operator allow-sender-domain`) for one operator's
-- traveler emails. A domain belongs to at most one operator, so no tenant sends as another.
CREATE TABLE sender_domains (
    domain       TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    approved_at  TEXT NOT NULL
);
CREATE INDEX sender_domains_operator ON sender_domains (operator_id);
