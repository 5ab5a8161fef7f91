-- A hold that redeems a code also writes the code's row (this counter): on MariaDB Galera a
-- `SELECT … FOR UPDATE` locks only on the local node and certification sees only rows written,
-- so without a write two nodes could both take a code's last use.
ALTER TABLE promo_codes ADD COLUMN redemption_writes INTEGER NOT NULL DEFAULT 0;
