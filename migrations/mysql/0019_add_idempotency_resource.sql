-- What an in-flight request has already made under its key (a paid hold's booking id), so a
-- retry that takes over a stalled claim carries on with it instead of making a second one.
ALTER TABLE idempotency_keys ADD COLUMN resource_id VARCHAR(64) NULL;
