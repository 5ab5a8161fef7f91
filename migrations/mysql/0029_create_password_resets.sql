-- Password reset codes: single use, 15 minutes, a few attempts. The code itself is never stored:
-- only its HMAC under BERTH_SECRET_KEY (the email is rendered from an HMAC of the reset id).
CREATE TABLE password_resets (
    id          CHAR(26) NOT NULL PRIMARY KEY,
    user_id     CHAR(26) NOT NULL,
    code_hash   CHAR(64) NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  DATETIME(3) NOT NULL,
    expires_at  DATETIME(3) NOT NULL,
    used_at     DATETIME(3) NULL,
    KEY password_resets_user (user_id, created_at),
    CONSTRAINT password_resets_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
