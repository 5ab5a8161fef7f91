-- Tenants: the companies that run tours.
CREATE TABLE operators (
    id          CHAR(26) NOT NULL PRIMARY KEY,
    name        VARCHAR(200) NOT NULL,
    email       VARCHAR(254) NOT NULL,
    created_at  DATETIME(3) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
