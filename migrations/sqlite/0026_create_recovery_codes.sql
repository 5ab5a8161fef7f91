-- Two-factor recovery codes, each good once, stored as HMAC-SHA256 under BERTH_SECRET_KEY.
CREATE TABLE recovery_codes (
    code_hash   TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
