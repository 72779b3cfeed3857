"""Follow-up statistics against regression to the mean, on hand-made marts.

Flagged groups tend to improve anyway. These marts hold many groups flagged in 2026Q1 whose
attendance rate drifts up a little by 2026Q2 without any action; the action's group is compared
with them, and the verdict depends on how many there are to compare with.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hearth.access import Viewer
from hearth.config import Config
from hearth.state import state
from metrics import api, followup
from metrics.change import change_between
from metrics.statistics import two_proportions

ROOT = Path(__file__).resolve().parents[1]

LEAD = Viewer(email="lead@example.org", name="Lee", role="lead", groups=None)


def marts(others: int, action_group_after: int) -> duckdb.DuckDBPyConnection:
    """`others` flagged groups going from 50 to 50-58 attended of 100 expected; group "a"
    going from 50 to `action_group_after`; one unflagged group "z" and the program."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.indicators (quarter VARCHAR, group_id VARCHAR, "
                "indicator VARCHAR, value DOUBLE, n BIGINT, ci_low DOUBLE, ci_high DOUBLE, "
                "status VARCHAR, delta DOUBLE, verdict VARCHAR, p_adjusted DOUBLE, "
                "pooled BOOLEAN, hits DOUBLE, target DOUBLE, note VARCHAR, p_value DOUBLE, "
                "test VARCHAR)")
    con.execute("CREATE TABLE marts.flags (quarter VARCHAR, group_id VARCHAR, flag VARCHAR, "
                "reason VARCHAR, evidence VARCHAR, since VARCHAR, state VARCHAR, "
                "quarters INTEGER)")
    con.execute("CREATE TABLE marts.groups (group_id VARCHAR, name VARCHAR)")
    con.execute("CREATE TABLE marts.session_attendance (quarter VARCHAR)")
    con.execute("CREATE TABLE marts.survey_scores (quarter VARCHAR, group_id VARCHAR, "
                "construct VARCHAR, score DOUBLE)")
    con.execute("INSERT INTO marts.session_attendance VALUES ('2026Q1'), ('2026Q2')")
    groups = [("a", 50, action_group_after)] + [
        (f"o{i:02d}", 50, 50 + i % 9) for i in range(others)] + [("z", 80, 80), (None, 60, 70)]
    for gid, before, after in groups:
        if gid is not None:
            con.execute("INSERT INTO marts.groups VALUES (?, ?)", [gid, f"Group {gid}"])
        for quarter, hits in (("2026Q1", before), ("2026Q2", after)):
            con.execute(
                "INSERT INTO marts.indicators (quarter, group_id, indicator, value, n, ci_low, "
                "ci_high, status, pooled, hits, verdict) VALUES (?, ?, 'attendance_rate', ?, "
                "100, ?, ?, 'ok', false, ?, 'no clear change')",
                [quarter, gid, hits / 100, hits / 100 - 0.1, hits / 100 + 0.1, hits])
        if gid not in ("z", None):
            con.execute("INSERT INTO marts.flags VALUES ('2026Q1', ?, "
                        "'below_expected_attendance', 'low', '{}', '2026Q1', 'new', 1)", [gid])
    return con


def follow(tmp_path, others: int, after: int) -> dict:
    con = marts(others, after)
    with state(tmp_path / "hearth.duckdb") as state_con:
        action = followup.plan_action(con, state_con, LEAD, quarter="2026Q1", group_id="a",
                                      flag="below_expected_attendance", what="New time slot")
        report = followup.follow_up(con, state_con, LEAD, Config(), action["action_id"])
    return report["indicators"][0]["after"][0]


def test_change_between_any_two_quarters_uses_the_reviews_test():
    con = marts(3, 70)
    out = change_between(con, pd.DataFrame(
        {"group_id": ["a"], "indicator": ["attendance_rate"], "before_quarter": ["2026Q1"],
         "after_quarter": ["2026Q2"]}))
    assert out["delta"].iat[0] == pytest.approx(0.2)
    assert out["p_value"].iat[0] == pytest.approx(two_proportions(50, 100, 70, 100))
    assert out["test"].iat[0] == "two proportions"


def test_a_big_rise_among_many_comparable_groups_is_told_apart(tmp_path):
    after = follow(tmp_path, others=45, after=90)
    comparison = after["comparison"]
    assert after["verdict"] == "up"
    assert comparison["groups"] == 45
    assert comparison["verdict"] == "better than comparable groups"
    assert comparison["ci_low"] < comparison["mean_delta"] < comparison["ci_high"]
    assert comparison["p"] < 0.05


def test_with_few_comparable_groups_the_follow_up_says_it_cannot_tell_them_apart(tmp_path):
    after = follow(tmp_path, others=10, after=90)
    comparison = after["comparison"]
    assert after["verdict"] == "up"  # the group did rise ...
    assert comparison["verdict"] == "cannot tell apart"  # ... but so might anyone's
    assert "with 10 groups to compare, no single group's change could be" in comparison["text"]


def test_groups_with_their_own_action_are_not_counted_as_comparable(tmp_path):
    con = marts(5, 60)
    with state(tmp_path / "hearth.duckdb") as state_con:
        for gid in ("o00", "o01"):
            followup.plan_action(con, state_con, LEAD, quarter="2026Q1", group_id=gid,
                                 what="Buddy pairs", indicators=["attendance_rate"])
        dropped = followup.plan_action(con, state_con, LEAD, quarter="2026Q1", group_id="o02",
                                       what="Tried", indicators=["attendance_rate"])
        followup.change_action(state_con, LEAD, dropped["action_id"], status="dropped")
        action = followup.plan_action(con, state_con, LEAD, quarter="2026Q1", group_id="a",
                                      what="New time slot", indicators=["attendance_rate"])
        report = followup.follow_up(con, state_con, LEAD, Config(), action["action_id"])
    assert report["indicators"][0]["after"][0]["comparison"]["groups"] == 3  # o02, o03, o04


def test_an_action_on_a_flag_not_raised_is_refused_with_the_flags_there_were(tmp_path):
    con = marts(1, 60)
    with state(tmp_path / "hearth.duckdb") as state_con, pytest.raises(
            followup.HearthError, match="not flagged 'low_safety' in 2026Q1 "
                                        r"\(its flags then: below_expected_attendance\)"):
        followup.plan_action(con, state_con, LEAD, quarter="2026Q1", group_id="a",
                             flag="low_safety", what="x")


def test_a_program_action_is_followed_up_without_a_comparison_it_cannot_have(tmp_path):
    con = marts(3, 60)
    with state(tmp_path / "hearth.duckdb") as state_con:
        action = followup.plan_action(con, state_con, LEAD, quarter="2026Q1",
                                      what="Captions everywhere", indicators=["attendance_rate"])
        report = followup.follow_up(con, state_con, LEAD, Config(), action["action_id"])
    item = report["indicators"][0]
    assert item["before"]["figure"]["value"] == pytest.approx(0.6)
    (after,) = item["after"]
    assert after["delta"] == pytest.approx(0.1)
    assert after["comparison"]["verdict"] == "no comparison"
    assert action["theme"] == "Participation"


def survey_marts(after_answers: int) -> duckdb.DuckDBPyConnection:
    """Group "a"'s belonging: 6 answers in 2026Q1 and `after_answers` in 2026Q2, of which the
    release ledger has published 6 each (a 7th arrived late and is held back)."""
    con = marts(0, 50)
    con.execute("CREATE SCHEMA IF NOT EXISTS release")
    con.execute((ROOT / "hearth/migrations/004_frozen_answers.sql").read_text())
    before, after = [20.0, 25, 30, 30, 35, 40], [60.0, 65, 70, 70, 75, 80, 90][:after_answers]
    for quarter, scores, value in (("2026Q1", before, 30.0), ("2026Q2", after, 70.0)):
        con.execute(
            "INSERT INTO marts.indicators (quarter, group_id, indicator, value, n, ci_low, "
            "ci_high, status, pooled, verdict) VALUES (?, 'a', 'belonging', ?, 6, ?, ?, 'ok', "
            "false, 'up')", [quarter, value, value - 10, value + 10])
        con.executemany("INSERT INTO marts.survey_scores VALUES (?, 'a', 'belonging', ?)",
                        [(quarter, s) for s in scores])
        con.executemany("INSERT INTO release.score_ledger VALUES (?, 'belonging', 'a', ?)",
                        [(quarter, s) for s in scores[:6]])  # the answers as published
    return con


def test_a_survey_index_is_tested_only_on_the_answers_its_figures_were_made_of(tmp_path):
    # a 7th answer arrived after the publication and is held back by the ledger: the test
    # reads the 6 published ones (release.score_ledger), so the late answer moves neither
    # the verdict nor the published p, which a test on the answers now would
    seen = {}
    for answers in (6, 7):
        con = survey_marts(answers)
        with state(tmp_path / f"{answers}.duckdb") as state_con:
            action = followup.plan_action(con, state_con, LEAD, quarter="2026Q1", group_id="a",
                                          what="Welcome ritual", indicators=["belonging"])
            (after,) = followup.follow_up(con, state_con, LEAD, Config(),
                                          action["action_id"])["indicators"][0]["after"]
            published = followup.action_survey_tests(con, state_con)
        assert (after["verdict"], after["verdict_text"]) == ("up", "clearly up")
        assert published[["group_id", "indicator", "before_quarter", "after_quarter"]] \
            .values.tolist() == [["a", "belonging", "2026Q1", "2026Q2"]]
        seen[answers] = published["p_value"].tolist()
    assert seen[6] == seen[7] and seen[6][0] < 0.05


def test_carry_over_counts_raised_flags_only_and_a_resolved_row_is_not_still_flagged():
    # Flags' "resolved" rows are shown the quarter after a run ends: g1's low safety ran in
    # 2026Q1 and ended (resolved in 2026Q2); g2's continues; g3's ended before 2026Q1.
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.flags AS SELECT * FROM (VALUES "
                "('2026Q1', 'g1', 'low_safety', 'new'), ('2026Q1', 'g2', 'low_belonging', 'new'),"
                "('2026Q1', 'g3', 'low_safety', 'resolved'),"
                "('2026Q2', 'g1', 'low_safety', 'resolved'),"
                "('2026Q2', 'g2', 'low_belonging', 'continuing')) t(quarter, group_id, flag, state)")
    assert api.flags_carried(con, "2026Q1", "2026Q2") == [
        ("g1", "low_safety", False), ("g2", "low_belonging", True)]
