-- Promo codes: an operator's discount codes, percent or a fixed amount, optionally limited to one
-- tour, a validity window, a minimum spend and a number of redemptions (in all, and per traveler
-- email). The code row is what a hold locks to count redemptions, so a rush never passes the
-- maximum.
CREATE TABLE promo_codes (
    id                CHAR(26) NOT NULL PRIMARY KEY,
    operator_id       CHAR(26) NOT NULL,
    code              VARCHAR(32) NOT NULL,
    percent_off       INT NULL,
    amount_off        BIGINT NULL,
    currency          CHAR(3) NULL,
    tour_id           CHAR(26) NULL,
    valid_from        DATETIME(3) NULL,
    valid_until       DATETIME(3) NULL,
    min_spend         BIGINT NOT NULL DEFAULT 0,
    max_redemptions   INT NULL,
    max_per_customer  INT NULL,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        DATETIME(3) NOT NULL,
    updated_at        DATETIME(3) NOT NULL,
    UNIQUE KEY promo_codes_operator_code (operator_id, code),
    CONSTRAINT promo_codes_one_discount CHECK ((percent_off IS NULL) <> (amount_off IS NULL)),
    CONSTRAINT promo_codes_operator_fk FOREIGN KEY (operator_id) REFERENCES operators (id),
    CONSTRAINT promo_codes_tour_fk FOREIGN KEY (tour_id) REFERENCES tours (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
