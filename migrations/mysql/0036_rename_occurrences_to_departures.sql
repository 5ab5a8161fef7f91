-- One word for the thing a seat is sold on: "departure" (issue 13). The table keeps its rows,
-- keys and foreign keys; index and constraint names from 0005/0006 keep the old word.
RENAME TABLE occurrences TO departures;
