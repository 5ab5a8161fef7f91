-- Tours; `units` is a JSON array of {code, label, price} (prices in minor units).
CREATE TABLE tours (
    id                CHAR(26) NOT NULL PRIMARY KEY,
    operator_id       CHAR(26) NOT NULL,
    name              VARCHAR(200) NOT NULL,
    description       TEXT NOT NULL,
    meeting_point     VARCHAR(500) NOT NULL,
    timezone          VARCHAR(64) NOT NULL,
    duration_minutes  BIGINT NOT NULL,
    currency          CHAR(3) NOT NULL,
    cutoff_minutes    BIGINT NOT NULL,
    min_per_booking   BIGINT NOT NULL,
    max_per_booking   BIGINT NOT NULL,
    units             TEXT NOT NULL,
    created_at        DATETIME(3) NOT NULL,
    updated_at        DATETIME(3) NOT NULL,
    KEY tours_operator (operator_id, id),
    CONSTRAINT tours_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
