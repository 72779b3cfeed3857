-- reads: core.attendance, core.buddy_checkins, core.sessions, core.survey_responses, stage_scope,
--     stage_sessions
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
-- attendance rows are found through the sessions of the refreshed quarters (stage_sessions
-- carries each session's quarter), so only their session ids are probed.

CREATE TABLE marts.load_quarters AS
WITH scoped_sessions AS (
    SELECT session_id, quarter FROM stage_sessions
    WHERE quarter >= (SELECT since FROM stage_scope)
),
quartered AS (
    SELECT c.load_id, s.quarter
    FROM core.sessions c JOIN scoped_sessions s USING (session_id)
    UNION ALL
    SELECT a.load_id, s.quarter
    FROM core.attendance a JOIN scoped_sessions s USING (session_id)
    UNION ALL
    SELECT load_id, CASE WHEN regexp_full_match(upper(trim(survey_id)), '\d{4}Q[1-4]')
                         THEN upper(trim(survey_id))
                         ELSE quarter_of(local_date(submitted_at)) END
    FROM core.survey_responses
    UNION ALL
    SELECT load_id, quarter_of(local_date(checked_in_at)) FROM core.buddy_checkins
)
SELECT load_id, quarter, count(*) AS rows
FROM quartered
WHERE load_id IS NOT NULL AND quarter IS NOT NULL AND quarter >= (SELECT since FROM stage_scope)
GROUP BY ALL
ORDER BY load_id, quarter;
