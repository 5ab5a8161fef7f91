-- The bearer secrets of a session, stored only as HMAC-SHA256 under BERTH_SECRET_KEY. `used_at`
-- marks a rotated refresh token: presenting it again means it was stolen.
CREATE TABLE session_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    session_id  TEXT NOT NULL REFERENCES sessions (id),
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh', 'mfa')),
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX session_tokens_session ON session_tokens (session_id);
