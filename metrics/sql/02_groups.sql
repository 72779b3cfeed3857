-- reads: core.groups, core.memberships, core.sessions, stage_calendar
-- writes: marts.groups(group_id, name, modality, language, time_zone, tz_band, cadence_days, coach,
--     cohort, started_on, size, size_band, dominant_tier, captioned_share)
--
-- marts.groups: one row per group with the dimensions pages filter on.
-- size counts the roster on the data's last day; size_band sets it against the 8-12 design band.

CREATE TABLE marts.groups AS
WITH roster_now AS (
    SELECT m.group_id, m.member_id, m.tier
    FROM core.memberships m, stage_calendar c
    WHERE m.joined_on <= c.data_end AND (m.left_on IS NULL OR m.left_on > c.data_end)
),
tiers AS (
    SELECT group_id, tier, count(DISTINCT member_id) AS members FROM roster_now GROUP BY ALL
),
sizes AS (
    -- the most common tier; a tie goes to the first in alphabetical order, so it is stable
    SELECT r.group_id, count(DISTINCT r.member_id) AS size,
           (SELECT first(t.tier ORDER BY t.members DESC, t.tier) FROM tiers t
            WHERE t.group_id = r.group_id) AS dominant_tier
    FROM roster_now r GROUP BY r.group_id
),
captions AS (
    SELECT group_id, avg(captioned::INTEGER) AS captioned_share
    FROM core.sessions GROUP BY group_id
)
SELECT
    g.group_id, g.name, g.modality, g.language, g.time_zone,
    -- Time-zone band: the IANA area, grouped into the three broad bands people schedule across.
    CASE split_part(g.time_zone, '/', 1)
        WHEN 'America' THEN 'Americas'
        WHEN 'US' THEN 'Americas'
        WHEN 'Canada' THEN 'Americas'
        WHEN 'Europe' THEN 'Europe & Africa'
        WHEN 'Africa' THEN 'Europe & Africa'
        WHEN 'Atlantic' THEN 'Europe & Africa'
        WHEN 'Asia' THEN 'Asia-Pacific'
        WHEN 'Australia' THEN 'Asia-Pacific'
        WHEN 'Pacific' THEN 'Asia-Pacific'
        WHEN 'Indian' THEN 'Asia-Pacific'
        ELSE 'UTC / other'
    END AS tz_band,
    g.cadence_days, g.coach, g.cohort, g.started_on,
    coalesce(s.size, 0) AS size,
    CASE WHEN coalesce(s.size, 0) < 8 THEN 'under 8'
         WHEN s.size <= 12 THEN '8-12' ELSE 'over 12' END AS size_band,
    s.dominant_tier,
    c.captioned_share
FROM core.groups g
LEFT JOIN sizes s USING (group_id)
LEFT JOIN captions c USING (group_id);
