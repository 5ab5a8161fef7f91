-- Shared resources: a boat, a bus, a guide whose capacity departures of several tours draw on at
-- once. `draw` says how a departure draws: `seats` (its live seats) or `departure` (one unit while
-- it runs). Every seat taken on a departure that draws on a resource is counted under this row's
-- lock, so no race passes the capacity.
CREATE TABLE resources (
    id          CHAR(26) NOT NULL PRIMARY KEY,
    operator_id CHAR(26) NOT NULL,
    name        VARCHAR(100) NOT NULL,
    capacity    INT NOT NULL,
    draw        VARCHAR(16) NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    updated_at  DATETIME(3) NOT NULL,
    KEY resources_operator (operator_id, name),
    CONSTRAINT resources_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
