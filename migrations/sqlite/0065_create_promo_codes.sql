-- Promo codes: an operator's discount codes, percent or a fixed amount, optionally limited to one
-- tour, a validity window, a minimum spend and a number of redemptions (in all, and per traveler
-- email). The code row is what a hold locks to count redemptions, so a rush never passes the
-- maximum.
CREATE TABLE promo_codes (
    id                TEXT NOT NULL PRIMARY KEY,
    operator_id       TEXT NOT NULL REFERENCES operators (id),
    code              TEXT NOT NULL,
    percent_off       INTEGER NULL,
    amount_off        INTEGER NULL,
    currency          TEXT NULL,
    tour_id           TEXT NULL REFERENCES tours (id),
    valid_from        TEXT NULL,
    valid_until       TEXT NULL,
    min_spend         INTEGER NOT NULL DEFAULT 0,
    max_redemptions   INTEGER NULL,
    max_per_customer  INTEGER NULL,
    active            INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CHECK ((percent_off IS NULL) <> (amount_off IS NULL))
);
CREATE UNIQUE INDEX promo_codes_operator_code ON promo_codes (operator_id, code);
