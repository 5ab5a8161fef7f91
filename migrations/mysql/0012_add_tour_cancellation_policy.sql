-- Refund rules for travelers' cancellations, a JSON array of {hours_before, refund_percent};
-- NULL is the default policy (a full refund until the departure starts).
ALTER TABLE tours ADD COLUMN cancellation_policy VARCHAR(2000) NULL;
