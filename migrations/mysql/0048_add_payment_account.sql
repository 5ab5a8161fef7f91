-- Which account took a payment: an operator's own (payment_accounts), or NULL for the
-- instance's account (BERTH_STRIPE_SECRET_KEY). Refunds and webhooks of the payment use it.
ALTER TABLE payments ADD COLUMN account_id CHAR(26) NULL;
