-- reads: core.buddy_checkins, core.sessions, core.survey_responses, stage_scope,
--     stage_session_rows, stage_sessions
-- writes: marts.load_quarters(load_id, quarter, rows)
--
-- marts.load_quarters: how many rows of each quarter every loaded file brought, so the review
-- can name the files loaded after a quarter's sign-off that hold rows of it
-- (metrics.signoff.late_loads) from a published snapshot, which holds no row. A response
-- counts in the quarter its survey names, else in its submission's quarter (as the survey
-- figures count it). Counts per file and quarter only: no day, group or member.
--
-- Quarterly: core rows are only ever added, and an incremental refresh starts at the first
-- quarter the new loads touch, so the counts of earlier quarters are kept as they are. The
-- attendance rows are not read here: 03_memberships.sql counted them per session and file in
-- its one pass over the attendance (stage_session_rows, kept between refreshes), and the
-- sessions of the refreshed quarters pick theirs. Buddy check-ins from more than two days before
-- the first refreshed quarter (time zones aside) are skipped before their local date is worked
-- out: the bound is a constant, so the scan compares the stored timestamp and skips whole row
-- groups (as a join to stage_scope it worked out every check-in's local date first).

SET VARIABLE hearth_checkins_from = (
    SELECT CASE WHEN since <> '' THEN (quarter_start(since) - 2)::TIMESTAMPTZ END FROM stage_scope
);

CREATE TABLE marts.load_quarters AS
WITH scoped_sessions AS (
    SELECT session_id, quarter FROM stage_sessions
    WHERE quarter >= (SELECT since FROM stage_scope)
),
-- the quarter of each response and check-in, worked out once per row. MATERIALIZED: otherwise
-- the filter on quarter below is pushed into the scans and every local date is worked out
-- twice, which made this step about 4 times slower (measured on 165,000 check-ins).
dated AS MATERIALIZED (
    SELECT load_id, CASE WHEN regexp_full_match(upper(trim(survey_id)), '\d{4}Q[1-4]')
                         THEN upper(trim(survey_id))
                         ELSE quarter_of(local_date(submitted_at)) END AS quarter, 1 AS n
    FROM core.survey_responses
    UNION ALL
    SELECT load_id, quarter_of(local_date(checked_in_at)), 1
    FROM core.buddy_checkins
    WHERE getvariable('hearth_checkins_from') IS NULL
       OR checked_in_at >= getvariable('hearth_checkins_from')
),
quartered AS (
    SELECT c.load_id, s.quarter, 1 AS n
    FROM core.sessions c JOIN scoped_sessions s USING (session_id)
    UNION ALL
    SELECT r.load_id, s.quarter, r.rows
    FROM stage_session_rows r JOIN scoped_sessions s USING (session_id)
    UNION ALL
    SELECT load_id, quarter, n FROM dated
)
SELECT load_id, quarter, sum(n)::BIGINT AS rows
FROM quartered
WHERE load_id IS NOT NULL AND quarter IS NOT NULL AND quarter >= (SELECT since FROM stage_scope)
GROUP BY ALL
ORDER BY load_id, quarter;
