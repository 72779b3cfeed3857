-- What was last published, kept across refreshes (marts are rebuilt each time; this is not).
-- metrics.release reads and advances it: a survey figure changes between publications only when
-- its unit's responses changed by at least k, so comparing two publications never isolates a
-- few late responses. Never copied into a published snapshot.
CREATE SCHEMA IF NOT EXISTS release;

-- Per quarter x indicator x unit (a group id, or '' for responses naming no known group): the
-- additive statistics as last published. indicator 'responses' counts responses of any kind and
-- versions the unit's comment list (release.comment_ledger).
CREATE TABLE release.survey_ledger (
    quarter    VARCHAR NOT NULL,
    indicator  VARCHAR NOT NULL,
    unit       VARCHAR NOT NULL,
    n          BIGINT NOT NULL,
    sum_score  DOUBLE,
    sum_sq     DOUBLE,
    hits       DOUBLE,
    version    INTEGER NOT NULL,
    PRIMARY KEY (quarter, indicator, unit)
);

-- The comments of each unit as last published (replaced only when its responses ledger moves).
CREATE TABLE release.comment_ledger (
    quarter VARCHAR NOT NULL,
    unit    VARCHAR NOT NULL,
    comment VARCHAR NOT NULL
);

CREATE TABLE release.publications (
    publication  INTEGER PRIMARY KEY,
    published_at TIMESTAMPTZ NOT NULL
);

-- Every survey figure of every publication as the sum of the ledger entries it is built from
-- ("2025Q1|g1@2"); role 'shown' (released to an audience), 'hidden' (suppressed: must never be
-- determined by the shown ones) or 'allowed' (not shown, but may be known). `hearth
-- privacy-check` solves these as linear equations.
CREATE TABLE release.figures (
    publication INTEGER NOT NULL,
    quarter     VARCHAR NOT NULL,
    indicator   VARCHAR NOT NULL,
    figure      VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,
    terms       VARCHAR[] NOT NULL
);
