-- Who changed what for an operator, and when. Append-only: rows are inserted, never updated.
-- `actor` is `user:<id>`, `token:<id>` or `cli`; `target` is `<kind>:<id>`.
CREATE TABLE audit_log (
    id           CHAR(26) NOT NULL PRIMARY KEY,
    operator_id  CHAR(26) NOT NULL,
    actor        VARCHAR(40) NOT NULL,
    action       VARCHAR(64) NOT NULL,
    target       VARCHAR(100) NOT NULL,
    detail       TEXT NULL,
    created_at   DATETIME(3) NOT NULL,
    KEY audit_log_operator (operator_id, id),
    CONSTRAINT audit_log_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
