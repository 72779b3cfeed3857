-- reads: marts.groups, marts.session_attendance, stage_member_quarters, stage_scope
-- writes: stage_inclusion_attendance(quarter, dimension, category, hits, n)
--
-- Inclusion breakdowns of attendance: by group modality, language and time-zone band, by
-- whether the session was captioned, and by the member's tier. (Survey breakdowns are added by
-- the refresh in Python, through the anonymity rule.)

CREATE OR REPLACE TEMP TABLE stage_inclusion_attendance AS
WITH sessions AS (
    SELECT sa.quarter, sa.attended, sa.expected, g.modality, g.language, g.tz_band,
           CASE WHEN sa.captioned THEN 'captioned' ELSE 'not captioned' END AS captioned
    FROM marts.session_attendance sa JOIN marts.groups g USING (group_id)
    WHERE sa.quarter >= (SELECT since FROM stage_scope)
),
by_session AS (
    SELECT quarter, modality, language, tz_band, captioned,
           sum(attended) AS hits, sum(expected) AS n
    FROM sessions
    GROUP BY GROUPING SETS ((quarter, modality), (quarter, language), (quarter, tz_band),
                            (quarter, captioned))
)
SELECT quarter,
       CASE WHEN modality IS NOT NULL THEN 'modality'
            WHEN language IS NOT NULL THEN 'language'
            WHEN tz_band IS NOT NULL THEN 'tz_band'
            ELSE 'captioned' END AS dimension,
       coalesce(modality, language, tz_band, captioned) AS category,
       hits, n
FROM by_session
UNION ALL
SELECT quarter, 'tier', tier, sum(attended), sum(rostered - excused)
FROM stage_member_quarters GROUP BY quarter, tier;
