-- reads: stage_active, stage_group_quarters, stage_scope, stage_sessions
-- writes: stage_host_counts(group_id, quarter, member_id, hosted)
-- writes: stage_first_hosting(member_id, group_id, quarter)
-- writes: stage_hosting(group_id, quarter, hosted_sessions, distinct_hosts, top_hosted, hhi)
-- extends: stage_counts
--
-- Leadership: who hosts, how widely hosting is shared, and who hosted for the first time.

CREATE OR REPLACE TEMP TABLE stage_host_counts AS
SELECT group_id, quarter, host_member_id AS member_id, count(*) AS hosted
FROM stage_sessions WHERE host_member_id IS NOT NULL AND quarter >= (SELECT since FROM stage_scope)
GROUP BY ALL;

-- A member's first ever hosting, anywhere in the program.
CREATE OR REPLACE TEMP TABLE stage_first_hosting AS
SELECT host_member_id AS member_id,
       arg_min(group_id, (session_date, session_id)) AS group_id,
       quarter_of(min(session_date)) AS quarter
FROM stage_sessions WHERE host_member_id IS NOT NULL
GROUP BY host_member_id;

CREATE OR REPLACE TEMP TABLE stage_hosting AS
SELECT gq.group_id, gq.quarter,
       coalesce(sum(h.hosted), 0) AS hosted_sessions,
       count(h.member_id) AS distinct_hosts,
       max(h.hosted) AS top_hosted,
       sum(h.hosted * h.hosted) / nullif(sum(h.hosted), 0) ^ 2 AS hhi
FROM stage_group_quarters gq
LEFT JOIN stage_host_counts h USING (group_id, quarter)
GROUP BY ALL;

-- distinct_hosts: members who hosted; n = sessions with a recorded host
INSERT INTO stage_counts
SELECT quarter, group_id, 'distinct_hosts', NULL, hosted_sessions, distinct_hosts, NULL
FROM stage_hosting;
-- top_host_share = sessions hosted by the busiest host / sessions with a recorded host
INSERT INTO stage_counts
SELECT quarter, group_id, 'top_host_share', top_hosted, hosted_sessions,
       top_hosted / nullif(hosted_sessions, 0), NULL
FROM stage_hosting;
-- host_hhi = sum of squared hosting shares (1 = one host did everything)
INSERT INTO stage_counts
SELECT quarter, group_id, 'host_hhi', NULL, hosted_sessions, hhi, NULL FROM stage_hosting;

-- hosting_breadth = active members who hosted at least once / active members
INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'hosting_breadth', count(h.member_id), count(a.member_id),
       count(h.member_id) / nullif(count(a.member_id), 0), NULL
FROM stage_group_quarters gq
LEFT JOIN stage_active a USING (group_id, quarter)
LEFT JOIN stage_host_counts h USING (group_id, quarter, member_id)
GROUP BY ALL;

-- new_hosts = members whose first ever hosting was in this group this quarter; n = its hosts
INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'new_hosts', NULL, h.distinct_hosts, count(f.member_id), NULL
FROM stage_group_quarters gq
JOIN stage_hosting h USING (group_id, quarter)
LEFT JOIN stage_first_hosting f USING (group_id, quarter)
GROUP BY ALL;

-- Program-wide
INSERT INTO stage_counts
WITH per_member AS (
    SELECT quarter, member_id, sum(hosted) AS hosted FROM stage_host_counts GROUP BY ALL
),
q AS (
    SELECT quarter, sum(hosted) AS hosted_sessions, count(*) AS distinct_hosts,
           max(hosted) AS top_hosted, sum(hosted * hosted) / sum(hosted) ^ 2 AS hhi
    FROM per_member GROUP BY quarter
),
active AS (SELECT quarter, count(DISTINCT member_id) AS active FROM stage_active GROUP BY quarter),
new AS (SELECT quarter, count(*) AS new_hosts FROM stage_first_hosting GROUP BY quarter)
SELECT q.quarter, NULL, x.indicator, x.hits, x.n, x.value, NULL
FROM q
LEFT JOIN active USING (quarter)
LEFT JOIN new USING (quarter),
LATERAL (VALUES
    ('distinct_hosts', NULL, q.hosted_sessions, q.distinct_hosts),
    ('top_host_share', q.top_hosted, q.hosted_sessions, q.top_hosted / q.hosted_sessions),
    ('host_hhi', NULL, q.hosted_sessions, q.hhi),
    ('hosting_breadth', q.distinct_hosts, active.active, q.distinct_hosts / active.active),
    ('new_hosts', NULL, q.distinct_hosts, coalesce(new.new_hosts, 0))
) AS x(indicator, hits, n, value);
