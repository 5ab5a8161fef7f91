-- The TOTP time step last accepted for a user, so a code works only once.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
