-- reads: core.memberships, stage_calendar, stage_first_hosting, stage_member_bits
-- writes: marts.participation_funnel(quarter, stage, members)
--
-- marts.participation_funnel: the leadership pipeline, by the quarter members first joined the
-- program. joined -> first_session (attended at least once) -> regular (is_regular: attended >=
-- metrics.definitions.REGULAR_SHARE = 60% of their expected sessions, over at least 4) -> host
-- (hosted at least once). Stages are counted to the data's end, so recent cohorts have had less
-- time to move along.

CREATE TABLE marts.participation_funnel AS
WITH cohort AS (
    SELECT member_id, quarter_of(min(joined_on)) AS quarter
    FROM core.memberships
    WHERE joined_on <= (SELECT data_end FROM stage_calendar)
    GROUP BY member_id
),
attendance AS (
    SELECT member_id,
           sum(length(replace(attended_bits, '0', ''))) AS attended,
           sum(span - length(replace(excused_bits, '0', ''))) AS expected
    FROM stage_member_bits GROUP BY member_id
),
hosts AS (SELECT DISTINCT member_id FROM stage_first_hosting),
staged AS (
    SELECT c.quarter,
           count(*) AS joined,
           count(*) FILTER (WHERE a.attended > 0) AS first_session,
           count(*) FILTER (WHERE a.attended > 0 AND a.expected >= 4
                            AND is_regular(a.attended, a.expected)) AS regular,
           count(*) FILTER (WHERE a.attended > 0 AND a.expected >= 4
                            AND is_regular(a.attended, a.expected)
                            AND h.member_id IS NOT NULL) AS host
    FROM cohort c
    LEFT JOIN attendance a USING (member_id)
    LEFT JOIN hosts h USING (member_id)
    GROUP BY c.quarter
)
SELECT quarter, stage, members::BIGINT AS members
FROM staged
UNPIVOT (members FOR stage IN (joined, first_session, regular, host))
ORDER BY quarter, list_position(['joined', 'first_session', 'regular', 'host'], stage);
