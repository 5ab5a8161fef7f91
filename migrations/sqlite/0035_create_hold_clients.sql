-- One row per client address or email that held seats while hold limits were on: on MySQL a
-- hold locks its client's rows (in key order) before counting what the client holds. SQLite,
-- with one writer, never writes here; the table exists so both schemas match.
CREATE TABLE hold_clients (
    client_key  TEXT PRIMARY KEY NOT NULL,
    touched_at  TEXT NOT NULL
);
CREATE INDEX hold_clients_touched ON hold_clients (touched_at);
