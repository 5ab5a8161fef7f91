-- One word for the thing a seat is sold on: "departure" (issue 13). SQLite rewrites the foreign
-- keys that reference the table; index names from 0005/0006 keep the old word.
ALTER TABLE occurrences RENAME TO departures;
