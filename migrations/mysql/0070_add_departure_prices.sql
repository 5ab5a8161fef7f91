-- A departure's own price per unit (a JSON object, unit code to minor units), over its tour's
-- price rules and base prices; NULL: none of its own.
ALTER TABLE departures ADD COLUMN unit_prices TEXT NULL;
