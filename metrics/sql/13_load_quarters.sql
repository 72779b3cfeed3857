-- reads: core.attendance, core.buddy_checkins, core.sessions, core.survey_responses
-- writes: marts.load_quarters(load_id, quarter, rows)
--
-- marts.load_quarters: how many rows of each quarter every loaded file brought, so the review
-- can name the files loaded after a quarter's sign-off that hold rows of it
-- (metrics.signoff.late_loads) from a published snapshot, which holds no row. A response
-- counts in the quarter its survey names, else in its submission's quarter (as the survey
-- figures count it). Counts per file and quarter only: no day, group or member.

CREATE TABLE marts.load_quarters AS
WITH quartered AS (
    SELECT load_id, quarter_of(session_date) AS quarter FROM core.sessions
    UNION ALL
    SELECT a.load_id, quarter_of(s.session_date)
    FROM core.attendance a JOIN core.sessions s USING (session_id)
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
WHERE load_id IS NOT NULL AND quarter IS NOT NULL
GROUP BY ALL
ORDER BY load_id, quarter;
