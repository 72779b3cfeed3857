"""Quarter-over-quarter change, funnel limits and shrunken estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hearth.warehouse import connect
from metrics.change import add_changes, funnel_points, shrunken_estimates
from metrics.statistics import (
    Z95,
    Z998,
    benjamini_hochberg,
    funnel_limits_proportion,
    overdispersion_phi,
    poisson_count_pvalues,
    shrink_proportions,
    two_proportion_pvalues,
    two_proportions,
)
from tests.metrics_world import World, same


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """g1: five members come to all 6 sessions in Q1; in Q2 only a (the host) comes.
    Belonging: five responses of 5 in Q1, five of 1 in Q2."""
    con = connect(tmp_path_factory.mktemp("change") / "w.duckdb")
    w = World(con).group("g1", "2025-01-06")
    for m in "abcde":
        w.member(m, "g1", "2025-01-06")
    q1 = w.sessions("g1", "2025-01-06", 6, hosts=["a"])
    w.sessions("g1", "2025-04-07", 6, hosts=["a"], number_from=7)
    for m in "abcde":
        w.pattern(m, q1, "AAAAAA")
    for _ in range(5):
        w.response("2025Q1", "2025-03-20", "g1", **same("bel", 4, 5))
        w.response("2025Q2", "2025-06-20", "g1", **same("bel", 4, 1))
    w.refresh()
    yield w
    con.close()


def test_attendance_change_uses_the_two_proportion_test(world):
    row = world.indicator("2025Q2", "g1", "attendance_rate")
    assert (row["value"], row["n"]) == (6 / 30, 30)
    assert row["delta"] == pytest.approx(6 / 30 - 1.0)
    assert row["p_value"] == pytest.approx(two_proportions(30, 30, 6, 30))
    assert (row["verdict"], row["test"]) == ("down", "two proportions")


def test_survey_change_is_an_exact_mann_whitney_on_the_two_quarters(world):
    row = world.indicator("2025Q2", "g1", "belonging")
    # five 100s against five 0s: the most extreme of C(10, 5) = 252 splits, both tails
    assert (row["delta"], row["p_value"], row["verdict"]) == (-100.0, pytest.approx(2 / 252),
                                                             "down")
    assert row["test"] == "Mann-Whitney U"


def test_counts_change_uses_the_conditional_poisson_test(world):
    row = world.indicator("2025Q2", "g1", "active_members")
    # 5 -> 1: given 6, P(X <= 1) for Binomial(6, 1/2) = 7/64, two-sided 14/64
    assert (row["delta"], row["p_value"], row["verdict"]) == (-4, pytest.approx(14 / 64),
                                                             "no clear change")


def test_first_quarter_has_no_change_to_report(world):
    row = world.indicator("2025Q1", "g1", "attendance_rate")
    assert row["verdict"] == "can't tell yet" and np.isnan(row["delta"])


def test_benjamini_hochberg_adjusts_across_groups_of_one_quarter(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    con.execute("CREATE TABLE marts.survey_scores (quarter VARCHAR, group_id VARCHAR, "
                "construct VARCHAR, score DOUBLE)")
    rows = []
    for gid, (before, after) in {"g1": (20, 5), "g2": (20, 15), "g3": (20, 18)}.items():
        rows.append(("2025Q1", gid, "attendance_rate", before / 30, before, 30))
        rows.append(("2025Q2", gid, "attendance_rate", after / 30, after, 30))
    frame = pd.DataFrame(rows, columns=["quarter", "group_id", "indicator", "value", "hits", "n"])
    frame["status"], frame["pooled"] = "ok", False
    out = add_changes(con, frame)
    q2 = out[out["quarter"] == "2025Q2"].sort_values("group_id")
    raw = [two_proportions(20, 30, a, 30) for a in (5, 15, 18)]
    assert q2["p_value"].tolist() == pytest.approx(raw)
    assert q2["p_adjusted"].tolist() == pytest.approx(list(benjamini_hochberg(raw)))
    assert q2["verdict"].tolist() == ["down", "no clear change", "no clear change"]


def test_vectorised_two_proportion_test_matches_statistics():
    rng = np.random.default_rng(3)
    n1 = rng.integers(1, 40, 400)
    n2 = rng.integers(1, 40, 400)
    x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
    expected = [two_proportions(int(a), int(b), int(c), int(d))
                for a, b, c, d in zip(x1, n1, x2, n2, strict=True)]
    assert two_proportion_pvalues(x1, n1, x2, n2) == pytest.approx(expected, abs=1e-12)


def test_poisson_count_test_is_two_sided_and_one_when_both_are_zero():
    assert poisson_count_pvalues([5, 0, 3], [1, 0, 3]).tolist() == pytest.approx(
        [14 / 64, 1.0, 1.0])


def proportion_frame():
    rows = [("g1", 40, 50), ("g2", 45, 50), ("g3", 10, 50), ("g4", 180, 200), ("g5", 8, 10)]
    frame = pd.DataFrame(rows, columns=["group_id", "hits", "n"])
    frame["quarter"], frame["indicator"] = "2025Q1", "attendance_rate"
    frame["value"] = frame["hits"] / frame["n"]
    frame["status"], frame["pooled"] = "ok", False
    return frame


def test_funnel_limits_widen_for_overdispersion_around_the_pooled_rate():
    frame = proportion_frame()
    points = funnel_points(frame).set_index("group_id")
    target = 283 / 360
    phi = overdispersion_phi(frame["hits"], frame["n"], target)
    lo95, hi95 = funnel_limits_proportion(target, frame["n"], Z95, phi)
    lo998, _ = funnel_limits_proportion(target, frame["n"], Z998, phi)
    assert points["target"].tolist() == pytest.approx([target] * 5)
    assert points["lo95"].tolist() == pytest.approx(list(lo95))
    assert points["hi95"].tolist() == pytest.approx(list(hi95))
    assert points["lo998"].tolist() == pytest.approx(list(lo998))
    assert points.loc["g3", "outside"] == "below 99.8%"
    assert points.loc["g4", "outside"] == "within"


def test_shrunken_estimates_rank_groups_best_first():
    frame = proportion_frame()
    out = shrunken_estimates(frame).set_index("group_id")
    expected = shrink_proportions(frame["hits"].to_numpy(), frame["n"].to_numpy())
    assert out["estimate"].tolist() == pytest.approx(expected["estimate"].tolist())
    assert out["rank"].tolist() == list(
        expected["estimate"].rank(ascending=False, method="min").astype(int))
    assert out.loc["g3", "rank"] == 5


def test_a_clear_change_smaller_than_two_points_is_no_meaningful_change(tmp_path):
    # a program of 2,000 groups: 85.0% -> 85.5% of ~400,000 member-sessions is "significant"
    con = connect(tmp_path / "w.duckdb")
    frame = pd.DataFrame([
        ("2025Q1", None, "attendance_rate", 0.850, 340_000, 400_000),
        ("2025Q2", None, "attendance_rate", 0.855, 342_000, 400_000),
        ("2025Q1", None, "active_members", 20_000, None, None),
        ("2025Q2", None, "active_members", 20_600, None, None),
        ("2025Q1", "g1", "active_members", 10, None, None),
        ("2025Q2", "g1", "active_members", 1, None, None),
    ], columns=["quarter", "group_id", "indicator", "value", "hits", "n"])
    frame["status"], frame["pooled"] = "ok", False
    out = add_changes(con, frame).set_index(["quarter", "indicator", "group_id"], drop=False)
    rate = out.loc[("2025Q2", "attendance_rate", None)]
    assert rate["p_value"] < 0.001 and rate["verdict"] == "no meaningful change"
    # counts: +3% of 20,000 is clear but under the 5% minimum; 10 -> 1 is both
    assert out.loc[("2025Q2", "active_members", None)]["verdict"] == "no meaningful change"
    assert out.loc[("2025Q2", "active_members", "g1")]["verdict"] == "down"
