-- The origins an operator lets frame its booking pages (the embeddable widget), canonical and
-- separated by spaces; empty: framing refused, as everywhere else.
ALTER TABLE operators ADD COLUMN embed_origins VARCHAR(4100) NOT NULL DEFAULT '';
