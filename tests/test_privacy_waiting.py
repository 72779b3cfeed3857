"""Red-team attacks on what is *derived* from the answers, beyond the figures themselves.

The ledger (metrics.release) holds a late response back until k arrive, so a figure does not
move by one response. These attacks look at everything else an audience reads after a
publication - change p-values, flag evidence, reliability - and at reliability's own n, which
used to be released for any number of responses.
"""

from __future__ import annotations

import random

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hearth.config import Config
from hearth.warehouse import AUDIENCE_TABLES, connect
from metrics import api
from metrics.audit import (
    determined_hidden,
    read_figures,
    snapshot_problems,
    unreleased_reliability,
)
from tests.metrics_world import World

K = 5
Q1, Q2 = "2025Q1", "2025Q2"


@pytest.fixture()
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def two_quarters(con, groups=("A", "B", "C", "D")) -> World:
    w = World(con)
    for g in groups:
        w.group(g, "2025-01-06")
        w.member(f"{g}-m", g, "2025-01-06")
        w.session(f"{g}-s1", g, "2025-01-06", host=f"{g}-m")
        w.session(f"{g}-s2", g, "2025-04-07", host=f"{g}-m")
    return w


def answer(w: World, rnd: random.Random, group, day, count, low=1, high=5):
    """`count` responses with random answers on every multi-item construct, and a comment."""
    for i in range(count):
        a = {f"bel_{j}": rnd.randint(low, high) for j in range(1, 5)}
        a.update({f"psy_{j}": rnd.randint(min(7, low), min(7, high + 2)) for j in range(1, 8)})
        a.update({f"sup_{j}": rnd.randint(low, high) for j in range(1, 5)})
        a.update({f"lon_{j}": rnd.randint(1, 3) for j in range(1, 4)})
        w.response("s", day, group, comment=f"note {group} {day} {i}", **a)


def everything_an_audience_reads(con) -> dict[str, pd.DataFrame]:
    """Every table of the widest audience (the coach's), in a fixed row order."""
    out = {}
    for table in AUDIENCE_TABLES["coach"]:
        if not table.startswith("marts.") or table == "marts.load_quarters":
            continue  # what came in (files, rows per file), not what the answers say
        if table == "marts.action_survey_tests":
            continue  # the actions' tests: built by hearth.orchestrate from the state store,
            # which holds no action here (tests/test_followup.py pins them to the ledger)
        frame = con.execute(f"SELECT * FROM {table}").df()
        out[table] = frame.sort_values(list(frame.columns), ignore_index=True,
                                       key=lambda c: c.astype(str))
    return out


def test_a_held_back_late_response_changes_nothing_any_audience_reads(con):
    # Four groups of 11 in two quarters; D's second quarter is low enough to raise a flag.
    # A late 12th response to D in Q2 is held back by the ledger: nothing published may move,
    # not the figures, and not what is derived from the answers - the Mann-Whitney p-values of
    # the change, a flag's within-group spread, Cronbach's alpha and its n.
    rnd = random.Random(8)
    w = two_quarters(con)
    for g in "ABCD":
        answer(w, rnd, g, "2025-03-20", 11)
        answer(w, rnd, g, "2025-06-20", 11, **({"low": 1, "high": 2} if g == "D" else {}))
    w.refresh()
    before = everything_an_audience_reads(con)
    assert before["marts.indicators"]["p_value"].notna().any()  # the change is tested
    answer(w, rnd, "D", "2025-06-25", 1, low=5, high=5)  # one late, distinctive response
    w.refresh()
    after = everything_an_audience_reads(con)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], check_dtype=False,
                                      obj=f"{table} after one held-back late response")
    # k late responses together are published, and the derived statistics move with them
    answer(w, rnd, "D", "2025-06-26", K - 1, low=5, high=5)
    w.refresh()
    moved = everything_an_audience_reads(con)
    d = moved["marts.indicators"]
    d = d[(d["quarter"] == Q2) & (d["group_id"] == "D") & (d["indicator"] == "belonging")]
    assert int(d["n"].iloc[0]) == 11 + K
    rel = moved["marts.reliability"]
    assert set(rel.loc[(rel["quarter"] == Q2) & (rel["policy"] == "listwise"), "n"]) == {44 + K}
    assert determined_hidden(read_figures(con)) == []


def test_reliability_never_shows_a_count_the_program_figure_hides(con):
    # Three responses in the quarter: every program survey figure is hidden (n < k), and
    # reliability must not say "n = 3" (nor give an alpha of three people's answers).
    rnd = random.Random(3)
    w = two_quarters(con, ("A", "B"))
    answer(w, rnd, "A", "2025-03-20", 2)
    answer(w, rnd, "B", "2025-03-20", 1)
    w.refresh()
    program = api.program_indicators(con, Q1)
    assert set(program.loc[program["indicator"] == "belonging", "status"]) == {"suppressed"}
    rel = api.reliability(con, Q1)
    assert len(rel), "a row per construct and policy says reliability can't be told"
    assert rel["n"].isna().all() and rel["alpha"].isna().all()
    assert rel["ci_low"].isna().all() and rel["ci_high"].isna().all()
    review = api.review(con, Q1, Config())
    assert all(r["n"] is None and r["alpha"] is None for r in review["reliability"])


def test_privacy_check_finds_a_reliability_row_whose_program_figure_is_hidden():
    snapshot = duckdb.connect()
    snapshot.execute("CREATE SCHEMA marts")
    snapshot.execute("CREATE TABLE marts.reliability (quarter VARCHAR, construct VARCHAR, "
                     "policy VARCHAR, alpha DOUBLE, n BIGINT)")
    snapshot.execute("INSERT INTO marts.reliability VALUES "
                     "('2025Q1', 'belonging', 'pairwise', 0.8, 3), "
                     "('2025Q2', 'belonging', 'pairwise', 0.8, 30), "
                     "('2025Q2', 'loneliness', 'pairwise', NULL, NULL)")
    figures = pd.DataFrame(
        [(1, Q1, "belonging", "program", "hidden", ["2025Q1|A@1"]),
         (1, Q2, "belonging", "program", "shown", ["2025Q2|A@1"])],
        columns=["publication", "quarter", "indicator", "figure", "role", "terms"])
    assert unreleased_reliability(figures, snapshot) == ["2025Q1 reliability belonging"]
    assert snapshot_problems(snapshot, {"marts.reliability"}, figures) == [
        "survey figure not released: 2025Q1 reliability belonging"]


def test_a_pooled_pair_of_quarters_settles_against_later_publications(con):
    # pool_quarters shows group A's Q1+Q2 pooled (2 + 4 responses; each quarter hidden). Two
    # publications later A's Q2 has grown to 11 and is shown alone, and the responses naming no
    # known group in Q2 - hidden before to protect A's 4 - are what the program minus the shown
    # groups leaves: they give A's old 4 responses through the old program total, and then A's
    # 2 Q1 responses through the pooled figure. The refresh used to stop with "determined by
    # earlier publications alone" (the pooled figure was never part of the settling, and the
    # settling hid a program total identical to one already shown); now it hides what it must
    # and the auditor finds nothing.
    config = Config(pool_quarters=True)
    w = two_quarters(con, ("A", "B"))
    arrivals = [  # (group, Q1 responses, Q2 responses) per publication; None: no known group
        {"A": (2, 4), "B": (6, 0), None: (4, 6)},
        {"A": (4, 3), "B": (6, 6), None: (2, 3)},
        {"A": (0, 4), "B": (1, 4), None: (2, 1)},
    ]
    for publication in arrivals:
        for group, counts in publication.items():
            for day, count in zip(("2025-03-20", "2025-06-20"), counts, strict=True):
                for i in range(count):
                    w.response("s", day, group or "a circle we never heard of",
                               **{f"bel_{j}": 1 + (i + j) % 5 for j in range(1, 5)})
        w.refresh(config)
        assert determined_hidden(read_figures(con)) == []
    pooled = con.execute("SELECT count(*) FROM release.figures WHERE figure = 'pooled:A'")
    assert pooled.fetchone()[0] >= 1  # the story did pool A's quarters


def test_a_pooled_figure_does_not_tell_which_hidden_group_is_the_small_one(con):
    # A = 2 then 4 responses (hidden for its own count), B = 6 and 6 (hidden in both quarters
    # to protect A), C = D = 10. Pooling only A's pair (each quarter under k) shows A pooled
    # and leaves B hidden: A is the small one, B holds at least k, and with the program total
    # (A + B = 10 in Q2) that narrows both - the distinction the one hidden-figure note keeps
    # out of every output. Every group hidden in both quarters pools, or none does.
    config = Config(pool_quarters=True)
    w = two_quarters(con, ("A", "B", "C", "D"))
    for group, (first, second) in {"A": (2, 4), "B": (6, 6), "C": (10, 10),
                                   "D": (10, 10)}.items():
        for day, count in zip(("2025-03-20", "2025-06-20"), (first, second), strict=True):
            for i in range(count):
                w.response("s", day, group, **{f"bel_{j}": 1 + (i + j) % 5 for j in range(1, 5)})
    w.refresh(config)
    hidden_q1 = {g for g in "ABCD" if w.indicator(Q1, g, "belonging")["status"] != "ok"}
    assert hidden_q1 == {"A", "B"}  # the story: B hidden to protect A
    seen = {g: {k: w.indicator(Q2, g, "belonging")[k] for k in ("status", "pooled", "note")}
            for g in ("A", "B")}
    assert seen["A"] == seen["B"], f"a pooled figure tells the hidden groups apart: {seen}"
    assert seen["A"]["pooled"]  # both pooled (each pair holds k), not both left hidden
    assert determined_hidden(read_figures(con)) == []


# ------------------------------------------------------------------ random two-quarter programs

counts = st.sampled_from([0, 0, 1, 2, 3, 4, 6])
two_quarter_program = st.fixed_dictionaries({
    "groups": st.integers(2, 4),
    "pool": st.booleans(),
    # per publication, per unit (the groups, then responses naming no known group): Q1 and Q2
    # responses arriving before it
    "arrivals": st.lists(st.lists(st.tuples(counts, counts), min_size=5, max_size=5),
                         min_size=1, max_size=3),
})


@pytest.mark.slow  # up to three refreshes per example
@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(two_quarter_program)
def test_every_publication_settles_in_random_two_quarter_programs(tmp_path_factory, spec):
    # Late responses in both quarters, responses naming no known group, and pooled pairs of
    # quarters: every refresh settles (never "determined by earlier publications alone") and
    # the auditor finds no hidden figure determined by everything published so far.
    con = connect(tmp_path_factory.mktemp("two") / "w.duckdb")
    try:
        names = "ABCD"[: spec["groups"]]
        w = two_quarters(con, tuple(names))
        config = Config(pool_quarters=spec["pool"])
        for publication in spec["arrivals"]:
            for unit, pair in zip([*names, None], publication, strict=False):
                for day, count in zip(("2025-03-20", "2025-06-20"), pair, strict=True):
                    for i in range(count):
                        w.response("s", day, unit or "a circle we never heard of",
                                   **{f"bel_{j}": 1 + (i * j) % 5 for j in range(1, 5)})
            w.refresh(config)
            assert determined_hidden(read_figures(con)) == []
    finally:
        con.close()
