-- The delivery log: each attempt's time, status, latency and error, and at most a short,
-- scrubbed excerpt of the response; kept 30 days.
CREATE TABLE webhook_attempts (
    id               CHAR(26) NOT NULL PRIMARY KEY,
    delivery_id      CHAR(26) NOT NULL,
    endpoint_id      CHAR(26) NOT NULL,
    event_id         VARCHAR(40) NOT NULL,
    event_type       VARCHAR(40) NOT NULL,
    attempted_at     DATETIME(3) NOT NULL,
    status_code      INT NULL,
    latency_ms       INT NOT NULL,
    error            VARCHAR(500) NULL,
    response_excerpt VARCHAR(300) NULL,
    KEY webhook_attempts_endpoint (endpoint_id, attempted_at),
    KEY webhook_attempts_time (attempted_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
