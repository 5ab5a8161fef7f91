-- One row per client address or email that held seats while hold limits were on: a hold locks
-- its client's rows (in key order) before counting what the client holds, so two concurrent
-- holds of one client, on any departures and any berth instance, are counted one after the
-- other. Rows idle for a day are purged. (SQLite needs none: it has one writer.)
CREATE TABLE hold_clients (
    client_key  CHAR(34) NOT NULL PRIMARY KEY,
    touched_at  DATETIME(3) NOT NULL,
    KEY hold_clients_touched (touched_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
