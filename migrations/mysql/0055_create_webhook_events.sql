-- One event per change, written in the change's own transaction: payload is the exact body that
-- is signed and sent, on every attempt and replay (id is its webhook-id). No foreign keys: rows
-- are written inside holds, where a key would lock its parent row for the rest of the hold.
CREATE TABLE webhook_events (
    id          VARCHAR(40) NOT NULL PRIMARY KEY,
    operator_id CHAR(26) NOT NULL,
    type        VARCHAR(40) NOT NULL,
    subject_id  CHAR(26) NULL,
    payload     MEDIUMTEXT NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    KEY webhook_events_operator (operator_id, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
