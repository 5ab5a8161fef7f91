-- A login: one family of access and refresh tokens. Revoking the session (logout, reuse of a
-- rotated refresh token, deactivation) revokes every token of the family at once.
CREATE TABLE sessions (
    id              CHAR(26) NOT NULL PRIMARY KEY,
    user_id         CHAR(26) NOT NULL,
    operator_id     CHAR(26) NOT NULL,
    created_at      DATETIME(3) NOT NULL,
    refreshed_at    DATETIME(3) NOT NULL,
    revoked_at      DATETIME(3) NULL,
    revoked_reason  VARCHAR(32) NULL,
    KEY sessions_user (user_id),
    CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
