-- A payment's id at its provider, named for any provider (a Stripe PaymentIntent id today).
ALTER TABLE payments RENAME COLUMN intent_id TO provider_payment_id;
