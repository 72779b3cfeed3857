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
-- out.

CREATE TABLE marts.load_quarters AS
WITH scoped_sessions AS (
    SELECT session_id, quarter FROM stage_sessions
    WHERE quarter >= (SELECT since FROM stage_scope)
),
checkins_from AS (
    SELECT CASE WHEN since <> '' THEN (quarter_start(since) - 2)::TIMESTAMPTZ END AS earliest
    FROM stage_scope
),
quartered AS (
    SELECT c.load_id, s.quarter, 1 AS n
    FROM core.sessions c JOIN scoped_sessions s USING (session_id)
    UNION ALL
    SELECT r.load_id, s.quarter, r.rows
    FROM stage_session_rows r JOIN scoped_sessions s USING (session_id)
    UNION ALL
    SELECT load_id, CASE WHEN regexp_full_match(upper(trim(survey_id)), '\d{4}Q[1-4]')
                         THEN upper(trim(survey_id))
                         ELSE quarter_of(local_date(submitted_at)) END, 1
    FROM core.survey_responses
    UNION ALL
    SELECT load_id, quarter_of(local_date(checked_in_at)), 1
    FROM core.buddy_checkins, checkins_from f
    WHERE f.earliest IS NULL OR checked_in_at >= f.earliest
)
SELECT load_id, quarter, sum(n)::BIGINT AS rows
FROM quartered
WHERE load_id IS NOT NULL AND quarter IS NOT NULL AND quarter >= (SELECT since FROM stage_scope)
GROUP BY ALL
ORDER BY load_id, quarter;
