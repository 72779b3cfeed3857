-- reads: core.members, stage_buddy_covered, stage_member_bits, stage_member_quarters,
--     stage_quarters, stage_scope, stage_sessions
-- writes: marts.watchlist(quarter, group_id, member_id, member_name, signal, reason, last_attended,
--     consecutive_missed)
--
-- marts.watchlist (coaches only): members showing withdrawal signals as of each quarter's last
-- session, among members still on the roster at the quarter's ref_date.
--   stopped_coming: regular before (is_regular, metrics.definitions.REGULAR_SHARE: attended >=
--     60% of the up-to-8 sessions before the current run of misses, excused ones not counted,
--     at least 4 of them) and has now missed >= 3 consecutive sessions.
--   no_contact_30_days: no attendance and no buddy check-in in the 30 days to ref_date, though
--     the group met in that time (and they were expected) and they had been a member for the
--     whole of it.
-- An excused absence is contact: it ends a run of missed sessions.

CREATE TABLE marts.watchlist AS
WITH recent_masks AS (
    SELECT s.group_id, q.quarter,
           bitstring_agg(s.seq, 1, getvariable('hearth_max_seq')) AS recent_mask
    FROM stage_sessions s
    JOIN stage_quarters q ON s.session_date BETWEEN q.ref_date - 29 AND q.ref_date
    WHERE q.quarter >= (SELECT since FROM stage_scope)
    GROUP BY ALL
),
-- members with a buddy check-in (either side) in the 30 days to ref_date (05_participation)
buddy AS (SELECT quarter, member_id FROM stage_buddy_covered),
members_now AS (
    SELECT mq.mid, mq.group_id, mq.member_id, mq.quarter, mq.hi, mq.first_seq, mq.joined_on,
           q.ref_date, b.attended_bits, b.excused_bits, b.contact_bits,
           r.recent_mask IS NOT NULL
               AND bit_count(b.a & r.recent_mask) = 0
               AND bit_count(b.span_mask & r.recent_mask & ~b.e) > 0
               AND mq.joined_on <= q.ref_date - 29 AS quiet_30
    FROM stage_member_quarters mq
    JOIN stage_quarters q USING (quarter)
    JOIN stage_member_bits b USING (mid)
    LEFT JOIN recent_masks r ON r.group_id = mq.group_id AND r.quarter = mq.quarter
    WHERE mq.left_on IS NULL OR mq.left_on > q.ref_date
),
candidates AS (
    SELECT *,
           length(rtrim(substr(contact_bits, 1, hi), '0')) AS last_contact_pos,
           length(rtrim(substr(attended_bits, 1, hi), '0')) AS last_attended_pos
    FROM members_now
    WHERE (hi >= 3 AND substr(contact_bits, hi - 2, 3) = '000') OR quiet_30
),
state AS (
    SELECT *,
           hi - last_contact_pos AS consecutive_missed,
           CASE WHEN last_attended_pos > 0 THEN first_seq + last_attended_pos - 1 END
               AS last_attended_seq,
           -- the (up to) 8 sessions ending at the last contact, just before the current run
           length(replace(substr(attended_bits, greatest(1, last_contact_pos - 7),
                                 least(8, last_contact_pos)), '0', '')) AS prior8_attended,
           least(8, last_contact_pos)
               - length(replace(substr(excused_bits, greatest(1, last_contact_pos - 7),
                                       least(8, last_contact_pos)), '0', '')) AS prior8_expected
    FROM candidates
),
signals AS (
    SELECT quarter, group_id, member_id, last_attended_seq, consecutive_missed,
           'stopped_coming' AS signal,
           printf('Came to %d of %d sessions before, then missed the last %d in a row.',
                  prior8_attended, prior8_expected, consecutive_missed) AS reason
    FROM state
    WHERE consecutive_missed >= 3 AND prior8_expected >= 4
      AND is_regular(prior8_attended, prior8_expected)
    UNION ALL
    SELECT st.quarter, st.group_id, st.member_id, st.last_attended_seq, st.consecutive_missed,
           'no_contact_30_days',
           printf('No attendance and no buddy check-in in the 30 days to %s.',
                  strftime(st.ref_date, '%-d %B %Y'))
    FROM state st
    LEFT JOIN buddy b ON b.quarter = st.quarter AND b.member_id = st.member_id
    WHERE st.quiet_30 AND b.member_id IS NULL
)
SELECT sg.quarter, sg.group_id, sg.member_id, mem.name AS member_name, sg.signal, sg.reason,
       s.session_date AS last_attended, sg.consecutive_missed::INTEGER AS consecutive_missed
FROM signals sg
LEFT JOIN stage_sessions s ON s.group_id = sg.group_id AND s.seq = sg.last_attended_seq
LEFT JOIN core.members mem ON mem.member_id = sg.member_id
ORDER BY sg.quarter, sg.group_id, sg.member_id, sg.signal;
