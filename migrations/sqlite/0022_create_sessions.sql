-- A login: one family of access and refresh tokens. Revoking the session (logout, reuse of a
-- rotated refresh token, deactivation) revokes every token of the family at once.
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    operator_id     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    refreshed_at    TEXT NOT NULL,
    revoked_at      TEXT,
    revoked_reason  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
