-- reads: stage_calendar, stage_member_bits, stage_sessions
-- writes: stage_scope(since)
--
-- Which quarters this refresh rebuilds: stage_scope.since, the first of them ('' = every quarter).
-- Steps that read stage_scope build rows only for quarters >= since; the runner keeps the rows of
-- earlier quarters in the marts they write (metrics/refresh.py).
--
-- The runner passes the quarter the new data starts in (hearth_requested_since, NULL for a full
-- refresh) and the data's end at the previous refresh (hearth_previous_data_end). Earlier
-- quarters' figures can still move, so the scope starts earlier when:
--   - the data's end moved: the quarter it was in was judged "as of" that day (ref_date), and
--     is now judged as of its last day;
--   - a first-timer of an earlier quarter had not come back yet and their next 3 sessions reach
--     into the rebuilt quarters (newcomer return is counted in the quarter of the first visit);
--   - quarters are pooled for small groups (hearth_pool_quarters): a pair (Q1+Q2, Q3+Q4) is
--     rebuilt together.

CREATE OR REPLACE TEMP TABLE stage_scope AS
WITH asked AS (
    SELECT getvariable('hearth_requested_since')::VARCHAR AS since
),
moved_end AS (
    SELECT quarter_of(getvariable('hearth_previous_data_end')::DATE) AS since
    FROM stage_calendar
    WHERE getvariable('hearth_previous_data_end')::DATE IS DISTINCT FROM data_end
),
first_rebuilt AS (
    SELECT s.group_id, min(s.seq) AS seq
    FROM stage_sessions s, asked a
    WHERE s.quarter >= a.since
    GROUP BY s.group_id
),
waiting_newcomers AS (
    SELECT min(s.quarter) AS since
    FROM stage_member_bits b
    JOIN first_rebuilt f USING (group_id)
    JOIN stage_sessions s
      ON s.group_id = b.group_id AND s.seq = b.first_seq + strpos(b.attended_bits, '1') - 1
    WHERE strpos(b.attended_bits, '1') > 0
      AND s.seq < f.seq AND s.seq + 3 >= f.seq
      -- not back yet before the first rebuilt session
      AND strpos(substr(b.attended_bits, strpos(b.attended_bits, '1') + 1, f.seq - s.seq - 1),
                 '1') = 0
),
widened AS (
    SELECT CASE WHEN a.since IS NULL THEN ''
                ELSE least(a.since, (SELECT since FROM moved_end),
                           (SELECT since FROM waiting_newcomers)) END AS since
    FROM asked a
)
SELECT CASE WHEN getvariable('hearth_pool_quarters') AND since <> ''
                 AND right(since, 1) IN ('2', '4')
            THEN left(since, 5) || (right(since, 1)::INTEGER - 1)::VARCHAR
            ELSE since END AS since
FROM widened;
