-- Two-factor recovery codes, each good once, stored as HMAC-SHA256 under BERTH_SECRET_KEY.
CREATE TABLE recovery_codes (
    code_hash   CHAR(64) NOT NULL PRIMARY KEY,
    user_id     CHAR(26) NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    used_at     DATETIME(3) NULL,
    KEY recovery_codes_user (user_id),
    CONSTRAINT recovery_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
