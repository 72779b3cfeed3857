"""Struggling-group flags and withdrawal signals, each planted in its own small group.

All groups meet weekly from Monday 2025-01-06: twelve sessions in 2025Q1 (to 24 March).
"""

from __future__ import annotations

import json

import pytest

from hearth.warehouse import connect
from tests.metrics_world import World

STEADY_PSY = [(6, 6, 6, 6), (7, 7, 7, 7), (5, 5, 5, 5), (6, 6, 6, 6), (7, 7, 7, 7), (6, 6, 6, 6)]


def psy(w: World, group: str, values: tuple[int, int, int, int]):
    a, b, c, d = values
    # psy_1, psy_3 and psy_5 are reverse-keyed: answer them low to mean "safe"
    w.response("2025Q1", "2025-03-20", group, psy_1=8 - a, psy_2=b, psy_3=8 - c, psy_4=d,
               psy_5=8 - a, psy_6=b, psy_7=c)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("flags") / "w.duckdb")
    w = World(con)

    def group(gid, members, start="2025-01-06", count=12, hosts=None):
        w.group(gid, start)
        ids = [f"{gid}-{i}" for i in range(members)]
        for m in ids:
            w.member(m, gid, start)
        return ids, w.sessions(gid, start, count, hosts=hosts or ids)

    for gid in ("steady1", "steady2", "steady3"):
        people, s = group(gid, 8)
        for m in people:
            w.pattern(m, s, "A" * 12)
            w.checkin(m, people[0], "2025-03-15")
        for values in STEADY_PSY:
            psy(w, gid, values)

    people, s = group("declining", 8, hosts=["declining-0", "declining-1"])
    counts = [8, 8, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2]       # members present at each session
    for k, sid in enumerate(s):
        for m in people[:counts[k]]:
            w.attend(sid, m)

    people, s = group("one_host", 8, hosts=["one_host-0"])
    for m in people:
        w.pattern(m, s, "A" * 12)

    people, s = group("small", 4)
    for m in people:
        w.pattern(m, s, "A" * 12)

    people, s = group("withdrawing", 8)
    for m in people[:6]:
        w.pattern(m, s, "A" * 12)
    for m in people[6:]:
        w.pattern(m, s, "AAAAAAAA....")
        w.checkin(m, people[0], "2025-03-20")

    people, s = group("newcomers", 8)
    for m in people:
        w.pattern(m, s, "A" * 12)
    for k in range(3):
        w.member(f"new-{k}", "newcomers", "2025-01-13")
        w.attend(s[k + 1], f"new-{k}")

    people, s = group("unsafe", 8)
    for m in people:
        w.pattern(m, s, "A" * 12)
    for values in [(2, 1, 2, 1), (1, 1, 1, 1), (2, 2, 2, 2), (1, 2, 1, 2), (2, 1, 1, 1),
                   (1, 1, 2, 1)]:
        psy(w, "unsafe", values)

    people, s = group("new_group", 8, start="2025-03-17", count=2)
    for m in people:
        w.pattern(m, s, "AA")

    w.refresh()
    yield w
    con.close()


def flags_of(world, group_id):
    return [f for (f,) in world.con.execute(
        "SELECT flag FROM marts.flags WHERE quarter = '2025Q1' AND group_id = ? ORDER BY flag",
        [group_id]).fetchall()]


def test_steady_groups_are_not_flagged(world):
    assert [flags_of(world, g) for g in ("steady1", "steady2", "steady3")] == [[], [], []]


def test_each_planted_problem_raises_its_flag(world):
    assert flags_of(world, "declining") == ["declining_attendance", "withdrawal_cluster"]
    assert flags_of(world, "one_host") == ["single_host"]
    assert flags_of(world, "small") == ["shrinking"]
    # two of eight stop: attendance steps from 100% to 75% for the last four sessions
    assert flags_of(world, "withdrawing") == ["declining_attendance", "withdrawal_cluster"]
    assert flags_of(world, "newcomers") == ["newcomers_not_returning", "withdrawal_cluster"]
    assert flags_of(world, "unsafe") == ["low_safety"]
    assert flags_of(world, "new_group") == ["cant_tell_yet"]


def test_declining_attendance_carries_its_evidence(world):
    reason, evidence = world.con.execute(
        "SELECT reason, evidence FROM marts.flags WHERE group_id = 'declining' "
        "AND flag = 'declining_attendance'").fetchone()
    data = json.loads(evidence)
    assert data["session_rates"] == [1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25]
    assert data["session_dates"][0] == "2025-02-03"
    assert data["p_value"] < 0.05 and data["slope_per_session"] < 0
    assert reason.startswith("Attendance has been falling over the last 8 sessions, from 100% "
                             "to 25% (about 12.5 points per session")


def test_single_host_reason_names_the_share_not_the_person(world):
    reason = world.con.execute("SELECT reason FROM marts.flags WHERE flag = 'single_host'"
                               ).fetchone()[0]
    assert reason == "One member hosted 12 of 12 sessions (100%); hosting is not rotating."


def test_watchlist_names_regulars_who_stopped_coming(world):
    rows = world.con.execute(
        "SELECT group_id, member_id, signal, reason, last_attended::VARCHAR, consecutive_missed "
        "FROM marts.watchlist WHERE group_id = 'withdrawing' ORDER BY member_id").fetchall()
    reason = "Came to 8 of 8 sessions before, then missed the last 4 in a row."
    assert rows == [
        ("withdrawing", "withdrawing-6", "stopped_coming", reason, "2025-02-24", 4),
        ("withdrawing", "withdrawing-7", "stopped_coming", reason, "2025-02-24", 4),
    ]


def test_watchlist_flags_members_with_no_contact_for_30_days(world):
    rows = world.con.execute(
        "SELECT member_id, signal, reason FROM marts.watchlist WHERE group_id = 'newcomers' "
        "ORDER BY member_id").fetchall()
    reason = "No attendance and no buddy check-in in the 30 days to 24 March 2025."
    assert rows == [(f"new-{k}", "no_contact_30_days", reason) for k in range(3)]
