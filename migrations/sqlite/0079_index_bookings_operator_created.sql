-- An operator's booking search lists its bookings newest first, a page at a time: with this index
-- it reads one page's rows instead of scanning and sorting every booking of the operator (a full
-- table scan on SQLite, which had no index on operator_id; measured with 2 M bookings, issue 18).
CREATE INDEX bookings_operator_created ON bookings (operator_id, created_at, id);
