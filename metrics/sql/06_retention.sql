-- reads: stage_calendar, stage_group_quarters, stage_member_bits, stage_sessions
-- writes: stage_memberships(mid, group_id, member_id, joined_on, left_on, missed_4_on, churned_on,
--     churn_reason)
-- writes: stage_km_subjects(quarter, group_id, entry_t, exit_t, churned)
-- writes: stage_km(quarter, group_id, n, events, survival, greenwood_sum)
-- extends: stage_counts
--
-- Membership retention. A membership churns on its left_on date, or on the date of its 4th
-- consecutive missed session, whichever comes first; otherwise it is censored at the data's end.

CREATE OR REPLACE TEMP TABLE stage_memberships AS
WITH fourth_miss AS (
    SELECT b.mid, s.session_date AS missed_4_on
    FROM stage_member_bits b
    JOIN stage_sessions s
      ON s.group_id = b.group_id
     AND s.seq = b.first_seq + strpos(b.contact_bits, '0000') - 1 + 3
    WHERE strpos(b.contact_bits, '0000') > 0
)
SELECT
    b.mid, b.group_id, b.member_id, b.joined_on, b.left_on, f.missed_4_on,
    least(b.left_on, f.missed_4_on) AS churned_on,
    CASE WHEN f.missed_4_on IS NOT NULL AND (b.left_on IS NULL OR f.missed_4_on < b.left_on)
         THEN 'stopped attending' WHEN b.left_on IS NOT NULL THEN 'left' END AS churn_reason
FROM stage_member_bits b
LEFT JOIN fourth_miss f USING (mid)
WHERE b.joined_on <= (SELECT data_end FROM stage_calendar);

-- Quarterly retention, per group and program-wide (group key '*'): Kaplan-Meier survival from
-- the quarter's start to its ref_date, with delayed entry for members who joined during it.
-- Time t is days since the day before the quarter started (t = 1 is its first day), so a
-- membership that was already going when the quarter began is at risk from t = 0 and a churn
-- on the quarter's first day (t = 1) counts in this quarter; the previous quarter ends at its
-- last day and censors that membership there. Every churn day thus belongs to exactly one
-- quarter. A membership is at risk at t when it entered before t and had not churned before t.
-- S = prod(1 - d_t / n_t); Greenwood variance S^2 * sum(d_t / (n_t (n_t - d_t))) feeds a
-- log-log interval in Python.
CREATE OR REPLACE TEMP TABLE stage_km_subjects AS
WITH base AS (
    SELECT
        gq.quarter, gq.group_id,
        CASE WHEN m.joined_on < gq.q_start THEN 0
             ELSE m.joined_on - gq.q_start + 1 END AS entry_t,
        least(coalesce(m.churned_on, gq.ref_date), gq.ref_date) - gq.q_start + 1 AS exit_t,
        m.churned_on IS NOT NULL AND m.churned_on <= gq.ref_date AS churned
    FROM stage_group_quarters gq
    JOIN stage_memberships m
      ON m.group_id = gq.group_id AND m.joined_on <= gq.ref_date
     AND (m.churned_on IS NULL OR m.churned_on >= gq.q_start)
)
SELECT * FROM base WHERE exit_t > entry_t OR (exit_t = entry_t AND NOT churned)
UNION ALL
SELECT quarter, '*', entry_t, exit_t, churned FROM base
WHERE exit_t > entry_t OR (exit_t = entry_t AND NOT churned);

CREATE OR REPLACE TEMP TABLE stage_km AS
WITH points AS (
    SELECT quarter, group_id, entry_t AS t, 1 AS entered, 0 AS exited, 0 AS d
    FROM stage_km_subjects
    UNION ALL
    SELECT quarter, group_id, exit_t, 0, 1, churned::INTEGER FROM stage_km_subjects
),
steps AS (
    SELECT quarter, group_id, t, sum(entered) AS entered, sum(exited) AS exited, sum(d) AS d
    FROM points GROUP BY ALL
),
-- at risk at t: entered before t, not yet gone before t
risk AS (
    SELECT quarter, group_id, t, d,
           sum(entered) OVER w - entered - (sum(exited) OVER w - exited) AS n_risk
    FROM steps
    WINDOW w AS (PARTITION BY quarter, group_id ORDER BY t
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
curve AS (
    SELECT quarter, group_id,
           CASE WHEN bool_or(d >= n_risk) THEN 0.0
                ELSE exp(sum(ln(1 - d / n_risk))) END AS survival,
           sum(CASE WHEN d < n_risk THEN d / (n_risk * (n_risk - d)) END) AS greenwood_sum,
           sum(d) AS events
    FROM risk WHERE d > 0 GROUP BY ALL
),
subjects AS (
    SELECT quarter, group_id, count(*) AS n FROM stage_km_subjects GROUP BY ALL
)
SELECT s.quarter, s.group_id, s.n, coalesce(c.events, 0) AS events,
       coalesce(c.survival, 1.0) AS survival, coalesce(c.greenwood_sum, 0.0) AS greenwood_sum
FROM subjects s LEFT JOIN curve c USING (quarter, group_id);

INSERT INTO stage_counts
SELECT gq.quarter, gq.group_id, 'retention', k.n - k.events, coalesce(k.n, 0), k.survival, NULL
FROM stage_group_quarters gq
LEFT JOIN stage_km k USING (quarter, group_id);
INSERT INTO stage_counts
SELECT quarter, NULL, 'retention', n - events, n, survival, NULL
FROM stage_km WHERE group_id = '*';
