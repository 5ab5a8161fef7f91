-- Who changed what for an operator, and when. Append-only: rows are inserted, never updated.
-- `actor` is `user:<id>`, `token:<id>` or `cli`; `target` is `<kind>:<id>`.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    detail       TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX audit_log_operator ON audit_log (operator_id, id);
