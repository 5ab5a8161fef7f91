-- API tokens act with a role; tokens made before roles existed could do everything: owner.
ALTER TABLE api_tokens ADD COLUMN role VARCHAR(8) NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'admin', 'staff', 'guide'));
