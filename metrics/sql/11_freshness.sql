-- reads: core.groups, core.sessions, stage_session_rows, stage_sessions
-- writes: marts.freshness(group_id, latest_session_date, latest_attendance_date)
--
-- marts.freshness: how recent each group's data is, so a quiet group is not mistaken for a
-- struggling one (or the reverse). Survey dates are not here: when a hidden group's last
-- response came in is itself about that group. The read layer adds the latest quarter whose
-- survey figures were released for the group (metrics.api.freshness).

CREATE TABLE marts.freshness AS
SELECT g.group_id,
       (SELECT max(session_date) FROM core.sessions s WHERE s.group_id = g.group_id)
           AS latest_session_date,
       -- sessions with at least one attendance row: those stage_session_rows counted (03)
       (SELECT max(s.session_date) FROM stage_session_rows r JOIN stage_sessions s USING (session_id)
        WHERE s.group_id = g.group_id) AS latest_attendance_date
FROM core.groups g
ORDER BY g.group_id;
