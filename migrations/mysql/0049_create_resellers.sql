-- Resellers: channels selling an operator's seats through the OCTO API with a key of their own.
-- Only the key's SHA-256 is kept. `tour_ids` lists the tours it may sell, space-separated; empty:
-- every tour of the operator. `commission_percent` is the share of the retail price it keeps.
CREATE TABLE resellers (
    id                  CHAR(26) NOT NULL PRIMARY KEY,
    operator_id         CHAR(26) NOT NULL,
    name                VARCHAR(400) NOT NULL,
    key_hash            CHAR(64) NOT NULL,
    commission_percent  INT NOT NULL,
    tour_ids            TEXT NOT NULL,
    created_at          DATETIME(3) NOT NULL,
    revoked_at          DATETIME(3) NULL,
    UNIQUE KEY resellers_key (key_hash),
    KEY resellers_operator (operator_id),
    CONSTRAINT resellers_commission_ck CHECK (commission_percent BETWEEN 0 AND 100),
    CONSTRAINT resellers_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
