-- A waiting entry whose departure's sales closed (cutoff passed, departed, cancelled, tour
-- archived) ends `closed`: the line is over, and berth told the traveler so.
ALTER TABLE waitlist_entries
    DROP CONSTRAINT waitlist_entries_status_ck,
    ADD CONSTRAINT waitlist_entries_status_ck CHECK (status IN ('waiting', 'offered', 'removed', 'closed'));
