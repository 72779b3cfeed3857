-- reads: core.attendance, core.memberships, core.sessions, kept.pair_bits, kept.session_rows
-- writes: stage_sessions(session_id, group_id, session_date, host_member_id, modality, captioned,
--     quarter, seq)
-- writes: stage_spans(mid, group_id, member_id, joined_on, left_on, tier, role, first_seq,
--     last_seq, span, span_mask)
-- writes: stage_reread_sessions(session_id, group_id, seq, host_member_id)
-- writes: stage_kept_seq(group_id, kept_seq)
-- writes: stage_marks(group_id, member_id, session_id, load_id, a, e, attended_rows, excused_rows,
--     all_rows, per_session)
-- writes: stage_pair_bits(group_id, member_id, a, e)
-- writes: stage_session_rows(session_id, load_id, attended, excused, rows)
-- writes: stage_member_bits(mid, group_id, member_id, joined_on, left_on, tier, role, first_seq,
--     last_seq, span, a, e, span_mask, attended_bits, excused_bits, contact_bits)
--
-- Who was expected at each session, and what happened, without ever expanding the roster into
-- one row per member per session.
--
-- A group's sessions are numbered 1, 2, 3... in date order (seq). A membership (joined_on <=
-- date < left_on) covers a contiguous run of them, first_seq..last_seq: those are the sessions
-- the member was expected at. Each membership's attendance is then a string of bits over that
-- span, built with bitstring_agg from the attendance rows:
--   attended_bits  1 = attended (hosting a session counts as attending it)
--   excused_bits   1 = excused (and did not attend)
--   contact_bits   attended or excused: a 0 is a missed session
-- Runs of missed sessions, the last attendance and per-quarter counts are string operations on
-- these few hundred thousand short strings. Attendance by someone not on the group's roster
-- that day is not counted anywhere (the ingest summary lists such guests).
--
-- The attendance bits are kept between refreshes (kept.pair_bits, kept.session_rows: the
-- runner saves stage_pair_bits and stage_session_rows after every refresh). Core rows are only
-- ever added and an incremental refresh starts at the first quarter new rows touch
-- (hearth_requested_since), so a group's sessions before that quarter keep their numbers and
-- their bits: only the attendance of the sessions from that quarter on is read again (a
-- late row in an old quarter moves the requested quarter back, and everything after it is
-- read again). A full refresh (no requested quarter) reads every session's attendance.

CREATE OR REPLACE TEMP TABLE stage_sessions AS
SELECT
    session_id, group_id, session_date, host_member_id, modality, captioned,
    quarter_of(session_date) AS quarter,
    row_number() OVER (PARTITION BY group_id ORDER BY session_date, session_id)::INTEGER AS seq
FROM core.sessions;

SET VARIABLE hearth_max_seq = (SELECT greatest(coalesce(max(seq), 1), 1) FROM stage_sessions);

-- The sessions whose attendance is read in this refresh: all of them in a full refresh, else
-- those from the requested quarter on; per group, the last session number whose bits are kept.
CREATE OR REPLACE TEMP TABLE stage_reread_sessions AS
SELECT session_id, group_id, seq, host_member_id FROM stage_sessions
WHERE getvariable('hearth_requested_since') IS NULL
   OR quarter >= getvariable('hearth_requested_since')::VARCHAR;

CREATE OR REPLACE TEMP TABLE stage_kept_seq AS
SELECT s.group_id, coalesce(min(r.seq) - 1, max(s.seq)) AS kept_seq
FROM stage_sessions s LEFT JOIN stage_reread_sessions r USING (session_id)
WHERE getvariable('hearth_requested_since') IS NOT NULL
GROUP BY s.group_id;

-- Each membership's span of its group's sessions (first_seq > last_seq: none yet), and the
-- span as a bit mask over all session numbers.
CREATE OR REPLACE TEMP TABLE stage_spans AS
WITH spans AS (
    SELECT
        row_number() OVER (ORDER BY m.group_id, m.member_id, m.joined_on)::INTEGER AS mid,
        m.group_id, m.member_id, m.joined_on, m.left_on, m.tier, m.role,
        coalesce(f.seq, 1 + coalesce(l.seq, 0)) AS first_seq,
        coalesce(l.seq, 0) AS last_seq
    FROM core.memberships m
    ASOF LEFT JOIN stage_sessions f
        ON f.group_id = m.group_id AND m.joined_on <= f.session_date
    ASOF LEFT JOIN stage_sessions l
        ON l.group_id = m.group_id AND coalesce(m.left_on, DATE '9999-12-31') > l.session_date
)
SELECT *, greatest(last_seq - first_seq + 1, 0) AS span,
       CASE WHEN first_seq <= last_seq
            THEN repeat('0', first_seq - 1) || repeat('1', last_seq - first_seq + 1)
                 || repeat('0', getvariable('hearth_max_seq') - last_seq)
            ELSE repeat('0', getvariable('hearth_max_seq')) END::BIT AS span_mask
FROM spans;

-- Per group x member: which sessions they attended (or hosted) and were excused from, as bits
-- over the group's session numbers; and per session x loaded file, its rows. One pass over the
-- attendance of the sessions re-read (13_load_quarters counts the files' rows from it too).
CREATE OR REPLACE TEMP TABLE stage_marks AS
WITH marks AS (
    SELECT s.group_id, a.member_id, s.seq, a.session_id, a.load_id,
           -- (IS NOT DISTINCT FROM: a session with no recorded host must still count attendees)
           a.status = 'attended' OR a.member_id IS NOT DISTINCT FROM s.host_member_id AS attended,
           a.status = 'excused' AND a.member_id IS DISTINCT FROM s.host_member_id AS excused,
           a.member_id IS NOT DISTINCT FROM s.host_member_id AS is_host
    FROM core.attendance a JOIN stage_reread_sessions s USING (session_id)
    UNION ALL
    -- (no session_id: these count in the bits only, never in a session's rows)
    SELECT group_id, host_member_id, seq, NULL, NULL, true, false, true
    FROM stage_reread_sessions WHERE host_member_id IS NOT NULL
)
-- one pass, two groupings: bits per group x member, and rows per session x loaded file
-- (non-host attended and excused rows; every row, for the files' counts)
SELECT group_id, member_id, session_id, load_id,
       bitstring_agg(seq, 1, getvariable('hearth_max_seq')) FILTER (WHERE attended) AS a,
       bitstring_agg(seq, 1, getvariable('hearth_max_seq')) FILTER (WHERE excused) AS e,
       count(*) FILTER (WHERE attended AND NOT is_host) AS attended_rows,
       count(*) FILTER (WHERE excused) AS excused_rows,
       count(*) AS all_rows,
       grouping(session_id, load_id) = 0 AS per_session
FROM marks
GROUP BY GROUPING SETS ((group_id, member_id), (session_id, load_id));

-- The bits just read, and the kept ones of the sessions before them (cut to those sessions and
-- padded to this refresh's session count): their positions never overlap.
CREATE OR REPLACE TEMP TABLE stage_pair_bits AS
WITH read_now AS (
    SELECT group_id, member_id,
           coalesce(a, repeat('0', getvariable('hearth_max_seq'))::BIT) AS a,
           coalesce(e, repeat('0', getvariable('hearth_max_seq'))::BIT)
               & ~coalesce(a, repeat('0', getvariable('hearth_max_seq'))::BIT) AS e
    FROM stage_marks WHERE NOT per_session AND member_id IS NOT NULL
),
kept AS (
    SELECT k.group_id, k.member_id,
           (substr(k.a::VARCHAR, 1, s.kept_seq)
            || repeat('0', getvariable('hearth_max_seq') - s.kept_seq))::BIT AS a,
           (substr(k.e::VARCHAR, 1, s.kept_seq)
            || repeat('0', getvariable('hearth_max_seq') - s.kept_seq))::BIT AS e
    FROM kept.pair_bits k JOIN stage_kept_seq s USING (group_id)
    WHERE s.kept_seq > 0
)
SELECT group_id, member_id,
       coalesce(k.a | r.a, k.a, r.a) AS a,
       coalesce(k.e | r.e, k.e, r.e) AS e
FROM read_now r FULL JOIN kept k USING (group_id, member_id);

-- Attendance rows per session x loaded file: non-host attended and excused ones (all of them;
-- 04 removes those off the roster) and every row (13 counts the files' rows by quarter). Those
-- just read, and the kept counts of the sessions not read again.
CREATE OR REPLACE TEMP TABLE stage_session_rows AS
SELECT session_id, load_id, attended_rows AS attended, excused_rows AS excused, all_rows AS rows
FROM stage_marks WHERE per_session AND session_id IS NOT NULL
UNION ALL
SELECT k.session_id, k.load_id, k.attended, k.excused, k.rows
FROM kept.session_rows k
WHERE getvariable('hearth_requested_since') IS NOT NULL
  AND k.session_id NOT IN (SELECT session_id FROM stage_reread_sessions);

-- Per membership: its attendance within its span, as bit masks and as strings over the span.
CREATE OR REPLACE TEMP TABLE stage_member_bits AS
WITH masked AS (
    SELECT sp.*,
           coalesce(p.a, repeat('0', getvariable('hearth_max_seq'))::BIT) & sp.span_mask AS a,
           coalesce(p.e, repeat('0', getvariable('hearth_max_seq'))::BIT) & sp.span_mask AS e
    FROM stage_spans sp
    LEFT JOIN stage_pair_bits p USING (group_id, member_id)
)
SELECT mid, group_id, member_id, joined_on, left_on, tier, role, first_seq, last_seq, span,
       a, e, span_mask,
       substr(a::VARCHAR, first_seq, span) AS attended_bits,
       substr(e::VARCHAR, first_seq, span) AS excused_bits,
       substr((a | e)::VARCHAR, first_seq, span) AS contact_bits
FROM masked;
