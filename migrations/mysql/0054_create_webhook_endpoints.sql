-- Where an operator's systems hear about changes (outbound webhooks). The signing secret must be
-- shown to the receiver, so it is sealed under BERTH_SECRET_KEY (ChaCha20-Poly1305, the endpoint
-- id as associated data), with only a mask in clear; after a rotation the previous secret keeps
-- signing until previous_secret_until. event_types: space-separated spellings.
CREATE TABLE webhook_endpoints (
    id                     CHAR(26) NOT NULL PRIMARY KEY,
    operator_id            CHAR(26) NOT NULL,
    url                    VARCHAR(2048) NOT NULL,
    description            VARCHAR(400) NOT NULL,
    event_types            VARCHAR(500) NOT NULL,
    enabled                TINYINT NOT NULL,
    disabled_reason        VARCHAR(16) NULL,
    disabled_at            DATETIME(3) NULL,
    failing_since          DATETIME(3) NULL,
    secret_sealed          VARCHAR(300) NOT NULL,
    secret_mask            VARCHAR(32) NOT NULL,
    previous_secret_sealed VARCHAR(300) NULL,
    previous_secret_until  DATETIME(3) NULL,
    created_at             DATETIME(3) NOT NULL,
    updated_at             DATETIME(3) NOT NULL,
    deleted_at             DATETIME(3) NULL,
    KEY webhook_endpoints_operator (operator_id, deleted_at),
    CONSTRAINT webhook_endpoints_disabled_ck CHECK (disabled_reason IN ('operator', 'failing')),
    CONSTRAINT webhook_endpoints_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
