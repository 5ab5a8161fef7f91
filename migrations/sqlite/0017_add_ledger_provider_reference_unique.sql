-- A provider's payment or refund is recorded once, however many times its confirmation arrives
-- (webhook redelivery, a retried refund call). Offline entries have no reference (NULLs differ).
CREATE UNIQUE INDEX ledger_provider_reference ON ledger_entries (provider, kind, provider_reference);
