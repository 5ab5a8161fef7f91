-- People who sign in for an operator. Emails are stored lower-cased and are unique across
-- operators, so login needs only email and password. Passwords are Argon2id PHC strings.
CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    operator_id      TEXT NOT NULL REFERENCES operators (id),
    email            TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'staff', 'guide')),
    password_hash    TEXT NOT NULL,
    totp_secret      TEXT,
    totp_enabled_at  TEXT,
    failed_logins    INTEGER NOT NULL DEFAULT 0,
    locked_until     TEXT,
    deactivated_at   TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX users_operator ON users (operator_id);
