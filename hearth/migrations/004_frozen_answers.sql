-- The answers behind each ledger entry as last published, so that what is derived from answers
-- (change p-values, flag spreads, Cronbach's alpha) moves only when the entry moves: a late
-- response held back by the ledger must not change a p-value or an alpha either. Never copied
-- into a published snapshot.

-- Per quarter x indicator x unit: the scores of the survey ledger entry (moved with it).
CREATE TABLE IF NOT EXISTS release.score_ledger (
    quarter   VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    unit      VARCHAR NOT NULL,
    score     DOUBLE NOT NULL
);

-- Per quarter x indicator x unit: the keyed item answers of the responses the survey ledger
-- entry counts (moved with it); response_id only pairs one response's items.
CREATE TABLE IF NOT EXISTS release.item_ledger (
    quarter     VARCHAR NOT NULL,
    indicator   VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL,
    response_id VARCHAR NOT NULL,
    construct   VARCHAR NOT NULL,
    item_id     VARCHAR NOT NULL,
    keyed       DOUBLE NOT NULL
);
