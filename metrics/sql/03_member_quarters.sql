-- reads: stage_member_bits, stage_scope, stage_sessions
-- writes: stage_group_quarter_seq(group_id, quarter, q_first_seq, q_last_seq, sessions)
-- writes: stage_group_quarter_masks(group_id, quarter, q_first_seq, q_last_seq, q_mask)
-- writes: stage_member_quarters(mid, group_id, member_id, tier, joined_on, left_on, quarter,
--     first_seq, rostered, attended, excused, hi)
-- writes: stage_active(group_id, quarter, member_id)
--
-- Per membership x quarter being refreshed: the part of the membership's span inside the
-- quarter's sessions, and its state at the quarter's last session (for the watchlist). Built
-- from the membership bits of 03_memberships.sql, which cover every session ever held.
CREATE OR REPLACE TEMP TABLE stage_group_quarter_seq AS
SELECT group_id, quarter, min(seq) AS q_first_seq, max(seq) AS q_last_seq, count(*) AS sessions
FROM stage_sessions
WHERE quarter >= (SELECT since FROM stage_scope)
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE stage_group_quarter_masks AS
SELECT group_id, quarter, q_first_seq, q_last_seq,
       (repeat('0', q_first_seq - 1) || repeat('1', q_last_seq - q_first_seq + 1)
        || repeat('0', getvariable('hearth_max_seq') - q_last_seq))::BIT AS q_mask
FROM stage_group_quarter_seq;

CREATE OR REPLACE TEMP TABLE stage_member_quarters AS
SELECT b.mid, b.group_id, b.member_id, b.tier, b.joined_on, b.left_on, q.quarter, b.first_seq,
       bit_count(b.span_mask & q.q_mask) AS rostered,
       bit_count(b.a & q.q_mask) AS attended,
       bit_count(b.e & q.q_mask) AS excused,
       -- position (within the span) of the membership's last session in this quarter
       least(b.last_seq, q.q_last_seq) - b.first_seq + 1 AS hi
FROM stage_member_bits b
JOIN stage_group_quarter_masks q
  ON q.group_id = b.group_id AND q.q_first_seq <= b.last_seq AND q.q_last_seq >= b.first_seq;

-- Members who came at least once in a group's quarter.
CREATE OR REPLACE TEMP TABLE stage_active AS
SELECT DISTINCT group_id, quarter, member_id FROM stage_member_quarters WHERE attended > 0;
