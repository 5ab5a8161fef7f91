-- Account messages (password reset code, lockout notice) go through the outbox too: they name a
-- user (and, for a reset, the reset it belongs to: `subject_id`) instead of a booking.
ALTER TABLE outbox
    MODIFY booking_id CHAR(26) NULL,
    ADD COLUMN user_id CHAR(26) NULL,
    ADD COLUMN subject_id CHAR(26) NULL,
    ADD CONSTRAINT outbox_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
