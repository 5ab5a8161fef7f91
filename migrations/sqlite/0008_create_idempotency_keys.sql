-- Incoming Idempotency-Key headers: one row per (scope, key), with the request's fingerprint and,
-- once done, the response to replay. Purged after `expires_at`.
CREATE TABLE idempotency_keys (
    scope            TEXT NOT NULL,
    idem_key         TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status  INTEGER,
    response_body    TEXT,
    locked_at        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
