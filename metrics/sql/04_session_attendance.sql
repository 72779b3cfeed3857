-- reads: core.members, stage_pair_bits, stage_scope, stage_session_rows, stage_sessions,
--     stage_spans
-- writes: marts.session_attendance(session_id, group_id, quarter, session_date, host_member_id,
--     host_name, expected, attended, excused, modality, captioned, seq)
--
-- marts.session_attendance: one row per session. expected = rostered members not excused (the
-- attendance-rate denominator); attended = rostered members who came (the host always counts);
-- excused shown apart. Attendance by members not on the roster that day is not counted.
--
-- Quarterly: only the sessions of the refreshed quarters (scoped) are counted, so an
-- incremental refresh joins the roster and the off-roster bits to those sessions alone.

CREATE TABLE marts.session_attendance AS
WITH scoped AS (
    SELECT * FROM stage_sessions WHERE quarter >= (SELECT since FROM stage_scope)
),
roster_events AS (
    SELECT group_id, first_seq AS seq, 1 AS change FROM stage_spans WHERE span > 0
    UNION ALL
    SELECT group_id, last_seq + 1, -1 FROM stage_spans WHERE span > 0
),
roster_changes AS (
    SELECT group_id, seq, sum(change) AS change FROM roster_events GROUP BY group_id, seq
),
-- the roster at a session: the changes at it and every earlier session of its group, summed
-- along the group's sessions (an equality join and a running sum: an ASOF join of the sessions
-- to the change points cost several times as much). Every change point is a session (first_seq)
-- or lies after the group's last one (last_seq + 1).
rostered AS (
    SELECT session_id, rostered FROM (
        SELECT s.session_id, s.quarter,
               sum(coalesce(c.change, 0)) OVER (PARTITION BY s.group_id ORDER BY s.seq)
                   AS rostered
        FROM stage_sessions s
        LEFT JOIN roster_changes c ON c.group_id = s.group_id AND c.seq = s.seq
    )
    WHERE quarter >= (SELECT since FROM stage_scope)
),
-- every attendance row that is not the host's, counted per session (stage_session_rows counts
-- them per session x loaded file)
rows_per_session AS (
    SELECT session_id, sum(attended) AS attended, sum(excused) AS excused
    FROM stage_session_rows SEMI JOIN scoped USING (session_id) GROUP BY session_id
),
-- ... minus those of members off the roster that day (rare: found from the bit masks)
roster_union AS (
    SELECT group_id, member_id, bit_or(span_mask) AS mask FROM stage_spans GROUP BY ALL
),
off_roster_pairs AS (
    SELECT p.group_id, p.member_id,
           p.a & ~coalesce(u.mask, repeat('0', getvariable('hearth_max_seq'))::BIT) AS a,
           p.e & ~coalesce(u.mask, repeat('0', getvariable('hearth_max_seq'))::BIT) AS e
    FROM stage_pair_bits p LEFT JOIN roster_union u USING (group_id, member_id)
),
off_roster AS (
    SELECT s.session_id,
           count(*) FILTER (WHERE get_bit(o.a, s.seq - 1) = 1) AS attended,
           count(*) FILTER (WHERE get_bit(o.e, s.seq - 1) = 1) AS excused
    FROM off_roster_pairs o
    JOIN scoped s ON s.group_id = o.group_id
    WHERE (bit_count(o.a) > 0 OR bit_count(o.e) > 0)
      AND o.member_id IS DISTINCT FROM s.host_member_id
      AND (get_bit(o.a, s.seq - 1) = 1 OR get_bit(o.e, s.seq - 1) = 1)
    GROUP BY s.session_id
),
host_rostered AS (
    SELECT s.session_id
    FROM scoped s
    JOIN stage_spans sp
      ON sp.group_id = s.group_id AND sp.member_id = s.host_member_id
     AND s.seq BETWEEN sp.first_seq AND sp.last_seq
)
SELECT
    s.session_id, s.group_id, s.quarter, s.session_date, s.host_member_id,
    mem.name AS host_name,
    (r.rostered - (coalesce(c.excused, 0) - coalesce(o.excused, 0)))::INTEGER AS expected,
    (coalesce(c.attended, 0) - coalesce(o.attended, 0)
        + CASE WHEN h.session_id IS NOT NULL THEN 1 ELSE 0 END)::INTEGER AS attended,
    (coalesce(c.excused, 0) - coalesce(o.excused, 0))::INTEGER AS excused,
    s.modality, s.captioned, s.seq
FROM scoped s
JOIN rostered r USING (session_id)
LEFT JOIN rows_per_session c USING (session_id)
LEFT JOIN off_roster o USING (session_id)
LEFT JOIN host_rostered h USING (session_id)
LEFT JOIN core.members mem ON mem.member_id = s.host_member_id
ORDER BY s.group_id, s.seq;
