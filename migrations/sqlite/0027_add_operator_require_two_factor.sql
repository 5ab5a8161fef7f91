-- Set by an owner: the operator's users must sign in with a second factor.
ALTER TABLE operators ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0;
