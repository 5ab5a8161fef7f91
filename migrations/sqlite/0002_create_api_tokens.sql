-- Operator API tokens, stored as SHA-256 hashes; the token itself is shown once.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_operator ON api_tokens (operator_id);
