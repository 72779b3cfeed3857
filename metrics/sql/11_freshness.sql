-- reads: core.groups, core.sessions, core.survey_responses, stage_session_rows, stage_sessions
-- writes: marts.freshness(group_id, latest_session_date, latest_attendance_date,
--     latest_survey_date)
--
-- marts.freshness: how recent each group's data is, so a quiet group is not mistaken for a
-- struggling one (or the reverse).

CREATE TABLE marts.freshness AS
SELECT g.group_id,
       (SELECT max(session_date) FROM core.sessions s WHERE s.group_id = g.group_id)
           AS latest_session_date,
       -- sessions with at least one attendance row: those stage_session_rows counted (03)
       (SELECT max(s.session_date) FROM stage_session_rows r JOIN stage_sessions s USING (session_id)
        WHERE s.group_id = g.group_id) AS latest_attendance_date,
       (SELECT max(local_date(submitted_at)) FROM core.survey_responses r
        WHERE r.group_id = g.group_id) AS latest_survey_date
FROM core.groups g
ORDER BY g.group_id;
