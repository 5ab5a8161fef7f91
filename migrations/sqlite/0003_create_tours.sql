-- Tours; `units` is a JSON array of {code, label, price} (prices in minor units).
CREATE TABLE tours (
    id                TEXT PRIMARY KEY NOT NULL,
    operator_id       TEXT NOT NULL REFERENCES operators (id),
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    meeting_point     TEXT NOT NULL,
    timezone          TEXT NOT NULL,
    duration_minutes  INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    cutoff_minutes    INTEGER NOT NULL,
    min_per_booking   INTEGER NOT NULL,
    max_per_booking   INTEGER NOT NULL,
    units             TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX tours_operator ON tours (operator_id, id);
