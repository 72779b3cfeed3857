-- reads: core.buddy_checkins, core.groups, core.memberships, marts.session_attendance,
--     stage_active, stage_calendar, stage_member_bits, stage_quarters, stage_scope,
--     stage_sessions
-- writes: stage_group_quarters(group_id, quarter, q_start, q_end, ref_date, cadence_days,
--     started_on)
-- writes: stage_roster_quarter(group_id, quarter, member_id)
-- writes: stage_buddy_covered(quarter, member_id)
-- writes: stage_newcomers(group_id, member_id, quarter, first_session, returned, judgeable)
-- writes: stage_counts(quarter, group_id, indicator, hits, n, value, target)
--
-- Participation counts per group x quarter (and program-wide, group_id NULL), before intervals.
-- stage_counts holds, per indicator: hits (numerator of a share), n (its denominator or the
-- count's base), value (the figure) and target (what the cadence promises, for sessions_held).

-- A group's quarters: from the quarter it started until the data's end, while it had a roster
-- or held sessions.
CREATE OR REPLACE TEMP TABLE stage_group_quarters AS
SELECT g.group_id, q.quarter, q.q_start, q.q_end, q.ref_date, g.cadence_days, g.started_on
FROM core.groups g
JOIN stage_quarters q
  ON q.q_end >= g.started_on AND q.q_start <= (SELECT data_end FROM stage_calendar)
 AND q.quarter >= (SELECT since FROM stage_scope)
WHERE EXISTS (SELECT 1 FROM core.memberships m
              WHERE m.group_id = g.group_id AND m.joined_on <= q.ref_date
                AND (m.left_on IS NULL OR m.left_on > q.q_start))
   OR EXISTS (SELECT 1 FROM stage_sessions s
              WHERE s.group_id = g.group_id AND s.quarter = q.quarter);

CREATE OR REPLACE TEMP TABLE stage_roster_quarter AS
SELECT DISTINCT gq.group_id, gq.quarter, m.member_id
FROM stage_group_quarters gq
JOIN core.memberships m
  ON m.group_id = gq.group_id AND m.joined_on <= gq.ref_date
 AND (m.left_on IS NULL OR m.left_on > gq.q_start);

-- Members with a buddy check-in (either side of the pair) in the last 30 days of each quarter.
-- (each check-in's local date worked out once, then counted for both sides; check-ins more
-- than 31 days before the first rebuilt quarter's window, time zones aside, are skipped before
-- their local date is worked out)
CREATE OR REPLACE TEMP TABLE stage_buddy_covered AS
WITH scoped AS (
    SELECT quarter, ref_date FROM stage_quarters
    WHERE quarter >= (SELECT since FROM stage_scope)
)
SELECT DISTINCT quarter, member_id
FROM (
    SELECT q.quarter, unnest([c.member_id, c.buddy_id]) AS member_id
    FROM core.buddy_checkins c
    JOIN scoped q
      ON local_date(c.checked_in_at) BETWEEN q.ref_date - 29 AND q.ref_date
    WHERE c.checked_in_at >= (SELECT min(ref_date) - 31 FROM scoped)::TIMESTAMPTZ
);

-- First-timers: a member's first attended session in a group; they returned when they attended
-- again within the group's next 3 sessions. Judged only once those 3 sessions have happened.
CREATE OR REPLACE TEMP TABLE stage_newcomers AS
WITH firsts AS (
    SELECT group_id, member_id,
           first_seq + strpos(attended_bits, '1') - 1 AS s1,
           strpos(attended_bits, '1') AS p1,
           strpos(substr(attended_bits, strpos(attended_bits, '1') + 1), '1') AS p2,
           first_seq
    FROM stage_member_bits WHERE strpos(attended_bits, '1') > 0
),
attended AS (
    SELECT group_id, member_id, s1 AS seq FROM firsts
    UNION ALL
    SELECT group_id, member_id, first_seq + p1 + p2 - 1 FROM firsts WHERE p2 > 0
),
first_two AS (
    SELECT group_id, member_id, min(seq, 2) AS first_two FROM attended GROUP BY ALL
),
last_seq AS (SELECT group_id, max(seq) AS last_seq FROM stage_sessions GROUP BY group_id)
SELECT
    f.group_id, f.member_id, s.quarter, s.session_date AS first_session,
    len(f.first_two) = 2 AND f.first_two[2] <= f.first_two[1] + 3 AS returned,
    (len(f.first_two) = 2 AND f.first_two[2] <= f.first_two[1] + 3)
        OR l.last_seq >= f.first_two[1] + 3 AS judgeable
FROM first_two f
JOIN last_seq l USING (group_id)
JOIN stage_sessions s ON s.group_id = f.group_id AND s.seq = f.first_two[1]
-- counted in the quarter of the first visit: only the rebuilt quarters'
WHERE s.quarter >= (SELECT since FROM stage_scope);

CREATE OR REPLACE TEMP TABLE stage_counts (
    quarter VARCHAR, group_id VARCHAR, indicator VARCHAR,
    hits DOUBLE, n BIGINT, value DOUBLE, target DOUBLE
);

-- attendance_rate = attended / expected member-sessions (excused excluded)
INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'attendance_rate', coalesce(sum(sa.attended), 0),
       coalesce(sum(sa.expected), 0), sum(sa.attended) / nullif(sum(sa.expected), 0), NULL
FROM stage_group_quarters gq
LEFT JOIN marts.session_attendance sa USING (group_id, quarter)
GROUP BY ALL;
INSERT INTO stage_counts
SELECT quarter, NULL, 'attendance_rate', sum(attended), sum(expected),
       sum(attended) / nullif(sum(expected), 0), NULL
FROM marts.session_attendance WHERE quarter >= (SELECT since FROM stage_scope) GROUP BY quarter;

-- active_members = members who attended at least once; n = the roster during the quarter
INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'active_members', NULL, coalesce(r.n, 0),
       coalesce(a.n, 0), NULL
FROM stage_group_quarters gq
LEFT JOIN (SELECT group_id, quarter, count(*) AS n FROM stage_roster_quarter GROUP BY ALL) r
    USING (group_id, quarter)
LEFT JOIN (SELECT group_id, quarter, count(*) AS n FROM stage_active GROUP BY ALL) a
    USING (group_id, quarter);
INSERT INTO stage_counts
SELECT q.quarter, NULL, 'active_members', NULL,
       (SELECT count(DISTINCT member_id) FROM stage_roster_quarter r WHERE r.quarter = q.quarter),
       (SELECT count(DISTINCT member_id) FROM stage_active a WHERE a.quarter = q.quarter), NULL
FROM (SELECT DISTINCT quarter FROM stage_group_quarters) q;

-- sessions_held against the cadence: target = days the group could meet this quarter / cadence
INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'sessions_held', NULL, count(s.session_id), count(s.session_id),
       greatest(ceil((gq.ref_date - greatest(gq.q_start, gq.started_on) + 1)
                     / gq.cadence_days), 0)
FROM stage_group_quarters gq
LEFT JOIN stage_sessions s USING (group_id, quarter)
GROUP BY ALL;
INSERT INTO stage_counts
SELECT quarter, NULL, 'sessions_held', NULL, sum(n), sum(value), sum(target)
FROM stage_counts WHERE indicator = 'sessions_held' GROUP BY quarter;

-- newcomer_return = first-timers who came again within 3 sessions / first-timers judged so far
INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'newcomer_return',
       count(*) FILTER (WHERE nc.returned AND nc.judgeable),
       count(*) FILTER (WHERE nc.judgeable),
       (count(*) FILTER (WHERE nc.returned AND nc.judgeable))
           / nullif(count(*) FILTER (WHERE nc.judgeable), 0), NULL
FROM stage_group_quarters gq
LEFT JOIN stage_newcomers nc USING (group_id, quarter)
GROUP BY ALL;
INSERT INTO stage_counts
SELECT quarter, NULL, 'newcomer_return', sum(hits), sum(n), sum(hits) / nullif(sum(n), 0), NULL
FROM stage_counts WHERE indicator = 'newcomer_return' GROUP BY quarter;

-- buddy_coverage = active members with a buddy check-in in the quarter's last 30 days / active
INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'buddy_coverage',
       count(b.member_id), count(a.member_id),
       count(b.member_id) / nullif(count(a.member_id), 0), NULL
FROM stage_group_quarters gq
LEFT JOIN stage_active a USING (group_id, quarter)
LEFT JOIN stage_buddy_covered b ON b.quarter = a.quarter AND b.member_id = a.member_id
GROUP BY ALL;
INSERT INTO stage_counts
SELECT a.quarter, NULL, 'buddy_coverage', count(b.member_id), count(*),
       count(b.member_id) / count(*), NULL
FROM (SELECT DISTINCT quarter, member_id FROM stage_active) a
LEFT JOIN stage_buddy_covered b USING (quarter, member_id)
GROUP BY a.quarter;
