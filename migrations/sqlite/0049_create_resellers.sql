-- Resellers: channels selling an operator's seats through the OCTO API with a key of their own.
-- Only the key's SHA-256 is kept. `tour_ids` lists the tours it may sell, space-separated; empty:
-- every tour of the operator. `commission_percent` is the share of the retail price it keeps.
CREATE TABLE resellers (
    id                  TEXT PRIMARY KEY NOT NULL,
    operator_id         TEXT NOT NULL REFERENCES operators (id),
    name                TEXT NOT NULL,
    key_hash            TEXT NOT NULL UNIQUE,
    commission_percent  INTEGER NOT NULL CHECK (commission_percent BETWEEN 0 AND 100),
    tour_ids            TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    revoked_at          TEXT
);
CREATE INDEX resellers_operator ON resellers (operator_id);
