-- Password reset codes: single use, 15 minutes, a few attempts. The code itself is never stored:
-- only its HMAC under BERTH_SECRET_KEY (the email is rendered from an HMAC of the reset id).
CREATE TABLE password_resets (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    code_hash   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
