"""Leadership indicators and the participation funnel, on a group worked out by hand.

g1 meets weekly from Monday 2025-01-06; eight sessions in 2025Q1 and four in 2025Q2.
Q1 hosts: a a a a a b c (and one session with no host recorded); Q2 hosts: a b d d.
Roster a, b, c, d, e from the start. Everyone attends every session except e, who never comes.
"""

from __future__ import annotations

import pytest

from hearth.warehouse import connect
from metrics.statistics import wilson_interval
from tests.metrics_world import World


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("leadership") / "w.duckdb")
    w = World(con).group("g1", "2025-01-06")
    for m in "abcde":
        w.member(m, "g1", "2025-01-06")
    q1_hosts = ["a", "a", "a", "a", "a", "b", "c", None]
    for i, host in enumerate(q1_hosts):
        w.session(f"q1-{i}", "g1", f"2025-01-{6 + 7 * i:02d}" if 6 + 7 * i <= 31
                  else f"2025-02-{6 + 7 * i - 31:02d}", host)
    for i, host in enumerate(["a", "b", "d", "d"]):
        w.session(f"q2-{i}", "g1", f"2025-04-{7 + 7 * i:02d}", host)
    for sid in [f"q1-{i}" for i in range(8)] + [f"q2-{i}" for i in range(4)]:
        for m in "abcd":
            w.attend(sid, m)
    w.refresh()
    yield w
    con.close()


def test_distinct_hosts_top_host_share_and_hhi(world):
    hosts = world.indicator("2025Q1", "g1", "distinct_hosts")
    top = world.indicator("2025Q1", "g1", "top_host_share")
    hhi = world.indicator("2025Q1", "g1", "host_hhi")
    assert (hosts["value"], hosts["n"]) == (3, 7)          # 7 sessions had a host
    assert (top["hits"], top["n"], top["value"]) == (5, 7, 5 / 7)
    assert top["ci_low"] == pytest.approx(wilson_interval(5, 7).ci_low)
    assert hhi["value"] == pytest.approx((5 / 7) ** 2 + (1 / 7) ** 2 + (1 / 7) ** 2)


def test_hosting_breadth_is_hosts_among_active_members(world):
    q1 = world.indicator("2025Q1", "g1", "hosting_breadth")
    q2 = world.indicator("2025Q2", "g1", "hosting_breadth")
    assert (q1["hits"], q1["n"], q1["value"]) == (3, 4, 0.75)   # a, b, c of a, b, c, d
    assert (q2["hits"], q2["n"], q2["value"]) == (3, 4, 0.75)   # a, b, d


def test_new_hosts_are_first_ever_hostings(world):
    assert world.indicator("2025Q1", "g1", "new_hosts")["value"] == 3   # a, b, c
    assert world.indicator("2025Q2", "g1", "new_hosts")["value"] == 1   # d


def test_participation_funnel_joined_first_session_regular_host(world):
    rows = world.con.execute(
        "SELECT quarter, stage, members FROM marts.participation_funnel").fetchall()
    # five joined in Q1; four came; all four came to every session (regular); all four hosted
    assert rows == [("2025Q1", "joined", 5), ("2025Q1", "first_session", 4),
                    ("2025Q1", "regular", 4), ("2025Q1", "host", 4)]


def test_single_host_flag_when_one_member_hosts_over_three_quarters(world):
    # 5 of 7 = 71% in Q1: not flagged; no flag in Q2 either
    flags = world.con.execute("SELECT quarter, flag FROM marts.flags "
                              "WHERE flag = 'single_host'").fetchall()
    assert flags == []
