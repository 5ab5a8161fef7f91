-- Operator API tokens, stored as SHA-256 hashes; the token itself is shown once.
CREATE TABLE api_tokens (
    id           CHAR(26) NOT NULL PRIMARY KEY,
    operator_id  CHAR(26) NOT NULL,
    token_hash   CHAR(64) NOT NULL,
    label        VARCHAR(200) NOT NULL,
    created_at   DATETIME(3) NOT NULL,
    revoked_at   DATETIME(3) NULL,
    UNIQUE KEY api_tokens_hash (token_hash),
    KEY api_tokens_operator (operator_id),
    CONSTRAINT api_tokens_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
