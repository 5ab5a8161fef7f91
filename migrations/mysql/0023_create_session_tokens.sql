-- The bearer secrets of a session, stored only as HMAC-SHA256 under BERTH_SECRET_KEY. `used_at`
-- marks a rotated refresh token: presenting it again means it was stolen.
CREATE TABLE session_tokens (
    token_hash  CHAR(64) NOT NULL PRIMARY KEY,
    session_id  CHAR(26) NOT NULL,
    kind        VARCHAR(8) NOT NULL,
    expires_at  DATETIME(3) NOT NULL,
    used_at     DATETIME(3) NULL,
    created_at  DATETIME(3) NOT NULL,
    KEY session_tokens_session (session_id),
    CONSTRAINT session_tokens_kind_ck CHECK (kind IN ('access', 'refresh', 'mfa')),
    CONSTRAINT session_tokens_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
