"""Participation indicators on a tiny group worked out by hand.

Group g1 meets fortnightly on Mondays from 2025-01-06: seven sessions in 2025Q1 (s1 6 Jan ...
s7 31 Mar). Roster: a, b, c, d from 6 Jan; d leaves on 17 Feb (not expected from s4); e joins
3 Feb (expected from s3). a hosts s1, s3, s5, s7 and b hosts s2, s4, s6.

          s1  s2  s3  s4  s5  s6  s7
    a     A   A   A   A   A   A   A
    b     A   A   .   A   A   A   A
    c     A   .   .   .   .   .   .      (4th miss in a row at s5, 3 Mar: churned)
    d     A   E   A   -   -   -   -      (excused at s2; left 17 Feb)
    e     -   -   A   .   .   A   .

expected (roster, excused out): 4 3 5 4 4 4 4 = 28; attended: 4 2 3 2 2 3 2 = 18.
"""

from __future__ import annotations

import pytest

from hearth.warehouse import connect
from metrics.statistics import kaplan_meier, wilson_interval
from tests.metrics_world import World

Q = "2025Q1"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("participation") / "w.duckdb")
    w = World(con).group("g1", "2025-01-06", cadence_days=14)
    for m in "abcd":
        w.member(m, "g1", "2025-01-06", left_on="2025-02-17" if m == "d" else None)
    w.member("e", "g1", "2025-02-03")
    s = w.sessions("g1", "2025-01-06", 7, every_days=14, hosts=["a", "b"])
    w.pattern("a", s, "AAAAAAA").pattern("b", s, "AA.AAAA").pattern("c", s, "A......")
    w.pattern("d", s[:3], "AEA").pattern("e", s[2:], "A..A.")
    w.checkin("a", "b", "2025-03-10")   # covers a and b (last 30 days of the quarter)
    w.checkin("c", "a", "2025-02-01")   # too early to count
    w.checkin("e", "d", "2025-03-20")   # covers e and d
    w.refresh()
    yield w
    con.close()


def test_session_attendance_counts_the_roster_on_the_day(world):
    rows = world.con.execute(
        "SELECT session_id, expected, attended, excused FROM marts.session_attendance "
        "ORDER BY seq").fetchall()
    assert rows == [
        ("g1-s1", 4, 4, 0), ("g1-s2", 3, 2, 1), ("g1-s3", 5, 3, 0), ("g1-s4", 4, 2, 0),
        ("g1-s5", 4, 2, 0), ("g1-s6", 4, 3, 0), ("g1-s7", 4, 2, 0),
    ]


def test_attendance_rate_is_attended_over_expected_with_a_wilson_interval(world):
    row = world.indicator(Q, "g1", "attendance_rate")
    expected = wilson_interval(18, 28)
    assert (row["value"], row["n"], row["hits"], row["status"]) == (18 / 28, 28, 18, "ok")
    assert row["ci_low"] == pytest.approx(expected.ci_low)
    assert row["ci_high"] == pytest.approx(expected.ci_high)
    program = world.indicator(Q, None, "attendance_rate")
    assert (program["value"], program["n"]) == (18 / 28, 28)


def test_active_members_counts_everyone_who_came_against_the_quarters_roster(world):
    row = world.indicator(Q, "g1", "active_members")
    assert (row["value"], row["n"], row["status"]) == (5, 5, "ok")


def test_sessions_held_is_set_against_the_cadence(world):
    row = world.indicator(Q, "g1", "sessions_held")
    # 6 Jan to 31 Mar is 85 days; fortnightly that is ceil(85 / 14) = 7 sessions
    assert (row["value"], row["target"]) == (7, 7)


def test_newcomer_return_counts_first_timers_back_within_three_sessions(world):
    # a, b (s2), d (s3) and e (s6 = s3 + 3) came back; c never did
    row = world.indicator(Q, "g1", "newcomer_return")
    assert (row["hits"], row["n"], row["value"]) == (4, 5, 0.8)


def test_buddy_coverage_counts_check_ins_in_the_last_30_days(world):
    row = world.indicator(Q, "g1", "buddy_coverage")
    assert (row["hits"], row["n"], row["value"]) == (4, 5, 0.8)


def test_retention_is_kaplan_meier_with_left_and_four_misses_as_churn(world):
    # d leaves on day 47 of the quarter (5 at risk), c churns at s5 on day 61 (4 at risk):
    # S = 4/5 * 3/4 = 0.6
    row = world.indicator(Q, "g1", "retention")
    curve = kaplan_meier([47, 61, 89, 89, 89], [True, True, False, False, False])
    assert (row["value"], row["n"], row["hits"]) == (pytest.approx(0.6), 5, 3)
    assert row["ci_low"] == pytest.approx(curve["ci_low"].iloc[-1])
    assert row["ci_high"] == pytest.approx(curve["ci_high"].iloc[-1])


def test_retention_curve_follows_memberships_from_joining(world):
    curve = world.con.execute(
        "SELECT days, at_risk, events, round(survival, 4) FROM marts.retention_curve"
    ).fetchall()
    # d: left after 42 days; c: 4th miss 56 days after joining; a, b: 84 days; e: 56 days
    assert curve == [(42, 5, 1, 0.8), (56, 4, 1, 0.6)]


def test_inclusion_breaks_attendance_down_by_tier_and_captioning(world):
    rows = world.con.execute(
        "SELECT dimension, category, value, n FROM marts.inclusion "
        "WHERE quarter = ? AND dimension IN ('tier', 'captioned', 'modality')",
        [Q]).fetchall()
    assert sorted(rows) == [
        ("captioned", "not captioned", 18 / 28, 28),
        ("modality", "video", 18 / 28, 28),
        ("tier", "standard", 18 / 28, 28),
    ]


def test_a_session_with_no_recorded_host_still_counts_its_attendees(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    w = World(con).group("g9", "2025-01-06")
    for m in "abc":
        w.member(m, "g9", "2025-01-06")
    w.session("g9-s1", "g9", "2025-01-06", host=None)
    w.session("g9-s2", "g9", "2025-01-13", host="a")
    for m in "ab":
        w.attend("g9-s1", m)
    w.attend("g9-s2", "c")
    w.refresh()
    rows = con.execute(
        "SELECT session_id, expected, attended, excused FROM marts.session_attendance ORDER BY seq"
    ).fetchall()
    con.close()
    assert rows == [("g9-s1", 3, 2, 0), ("g9-s2", 3, 2, 0)]


def test_a_churn_on_a_quarters_first_day_belongs_to_that_quarter_only(tmp_path):
    # g_lost's 10 members meet weekly through 2025Q3; 7 of them leave on 1 October, the first
    # day of 2025Q4, and the other 3 carry on. g_steady keeps its 10 members throughout.
    con = connect(tmp_path / "w.duckdb")
    w = World(con)
    for gid in ("g_lost", "g_steady"):
        w.group(gid, "2025-07-07")
        people = [f"{gid}-{i}" for i in range(10)]
        for i, m in enumerate(people):
            left = "2025-10-01" if gid == "g_lost" and i < 7 else None
            w.member(m, gid, "2025-07-07", left)
        q3 = w.sessions(gid, "2025-07-07", 12)
        q4 = w.sessions(gid, "2025-10-06", 12, number_from=13)
        for m in people:
            w.pattern(m, q3, "A" * 12)
        for m in people[7:] if gid == "g_lost" else people:
            w.pattern(m, q4, "A" * 12)
    w.refresh()
    q3, q4 = w.indicator("2025Q3", "g_lost", "retention"), \
        w.indicator("2025Q4", "g_lost", "retention")
    # Q3 ends on 30 September with everyone still a member: the 7 are censored there, not lost
    assert (q3["value"], q3["n"], q3["hits"]) == (1.0, 10, 10)
    # Q4 holds the 7 churns of its first day: 3 of 10 retained
    assert (q4["value"], q4["n"], q4["hits"]) == (pytest.approx(0.3), 10, 3)
    program = [w.indicator(q, None, "retention")["value"] for q in ("2025Q3", "2025Q4")]
    assert program[1] < program[0] and program[1] == pytest.approx(13 / 20)
    con.close()
