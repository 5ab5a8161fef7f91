-- The message kind "occurrence_cancelled" is now "departure_cancelled" (0036); queued and kept
-- messages follow, with their dedupe keys (booking:kind:channel), so none is sent twice.
UPDATE outbox
SET kind = 'departure_cancelled',
    dedupe_key = REPLACE(dedupe_key, ':occurrence_cancelled:', ':departure_cancelled:')
WHERE kind = 'occurrence_cancelled';
