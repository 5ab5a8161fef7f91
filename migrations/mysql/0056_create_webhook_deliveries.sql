-- The delivery queue: one row per event and endpoint, claimed like the outbox (a lease in
-- locked_until), retried with backoff until give_up_at; 'paused' while its endpoint is disabled.
CREATE TABLE webhook_deliveries (
    id              CHAR(26) NOT NULL PRIMARY KEY,
    event_id        VARCHAR(40) NOT NULL,
    endpoint_id     CHAR(26) NOT NULL,
    operator_id     CHAR(26) NOT NULL,
    status          VARCHAR(12) NOT NULL,
    attempts        INT NOT NULL,
    next_attempt_at DATETIME(3) NOT NULL,
    locked_until    DATETIME(3) NULL,
    give_up_at      DATETIME(3) NOT NULL,
    last_status     INT NULL,
    last_error      VARCHAR(500) NULL,
    created_at      DATETIME(3) NOT NULL,
    delivered_at    DATETIME(3) NULL,
    UNIQUE KEY webhook_deliveries_once (event_id, endpoint_id),
    KEY webhook_deliveries_due (status, next_attempt_at),
    KEY webhook_deliveries_endpoint (endpoint_id, status, created_at),
    CONSTRAINT webhook_deliveries_status_ck CHECK (status IN ('pending', 'sending', 'delivered', 'dead', 'paused'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
