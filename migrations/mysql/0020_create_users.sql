-- People who sign in for an operator. Emails are stored lower-cased and are unique across
-- operators, so login needs only email and password. Passwords are Argon2id PHC strings.
CREATE TABLE users (
    id               CHAR(26) NOT NULL PRIMARY KEY,
    operator_id      CHAR(26) NOT NULL,
    email            VARCHAR(254) NOT NULL,
    name             VARCHAR(200) NOT NULL,
    role             VARCHAR(8) NOT NULL,
    password_hash    VARCHAR(255) NOT NULL,
    totp_secret      VARCHAR(64) NULL,
    totp_enabled_at  DATETIME(3) NULL,
    failed_logins    BIGINT NOT NULL DEFAULT 0,
    locked_until     DATETIME(3) NULL,
    deactivated_at   DATETIME(3) NULL,
    created_at       DATETIME(3) NOT NULL,
    updated_at       DATETIME(3) NOT NULL,
    UNIQUE KEY users_email (email),
    KEY users_operator (operator_id),
    CONSTRAINT users_role_ck CHECK (role IN ('owner', 'admin', 'staff', 'guide')),
    CONSTRAINT users_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
