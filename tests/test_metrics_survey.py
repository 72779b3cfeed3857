"""Survey scoring, reliability and the anonymity rule, on responses worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from hearth.config import Config
from hearth.warehouse import connect
from metrics.anonymity import HIDDEN_NOTE
from metrics.statistics import cronbach_alpha
from tests.metrics_world import World, same

Q = "2025Q1"
BELONGING_ITEMS = [4, 5, 3, 2, 4]      # every belonging item answered this, per response
INDICES = [75.0, 100.0, 50.0, 25.0, 75.0]


def t_interval(values):
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = stats.t.isf(0.025, len(values) - 1) * sd / math.sqrt(len(values))
    return mean, mean - half, mean + half


@pytest.fixture()
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def base(con) -> World:
    w = World(con)
    for g in ("g1", "g2", "g3"):
        w.group(g, "2025-01-06")
        w.member(f"{g}-m", g, "2025-01-06")
        w.session(f"{g}-s1", g, "2025-01-06", host=f"{g}-m")
    return w


def five_responses(w: World, group="g1", survey="2025Q1", day="2025-03-20"):
    lonely = [[1, 1, 1], [2, 2, 2], [3, 3, 3], [2, 2, 1], [2, 2, None]]   # 3, 6, 9, 5, 6 (prorated)
    lead = [5, 4, 3, 2, 1]
    for bel, lon, ld in zip(BELONGING_ITEMS, lonely, lead, strict=True):
        w.response(survey, day, group, **same("bel", 4, bel),
                   lon_1=lon[0], lon_2=lon[1], lon_3=lon[2], lead_1=ld)


def test_belonging_index_is_the_mean_item_rescaled_to_0_100_with_a_t_interval(con):
    w = base(con)
    five_responses(w)
    w.refresh()
    row = w.indicator(Q, "g1", "belonging")
    mean, low, high = t_interval(INDICES)
    assert (row["value"], row["n"], row["status"]) == (pytest.approx(mean), 5, "ok")
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    scores = con.execute("SELECT score FROM marts.survey_scores WHERE construct = 'belonging' "
                         "ORDER BY score").fetchall()
    assert [s for (s,) in scores] == sorted(INDICES)


def test_loneliness_share_counts_totals_of_six_or_more_and_prorates_a_skipped_item(con):
    w = base(con)
    five_responses(w)
    w.refresh()
    row = w.indicator(Q, "g1", "loneliness_share")
    assert (row["hits"], row["n"], row["value"]) == (3, 5, 0.6)


def test_willingness_to_lead_is_the_share_answering_4_or_5(con):
    w = base(con)
    five_responses(w)
    w.refresh()
    row = w.indicator(Q, "g1", "willingness_to_lead")
    assert (row["hits"], row["n"], row["value"]) == (2, 5, 0.4)


def test_reverse_keying_follows_the_instrument_not_the_position(con):
    w = base(con)
    # This program's instrument reverse-keys psy_2 instead of psy_1.
    from hearth.instrument import load_instrument
    for item in load_instrument().items:
        reverse = item.item_id == "psy_2" if item.construct == "psychological_safety" \
            else item.reverse_keyed
        con.execute("INSERT INTO core.instrument_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [item.item_id, item.construct, item.position, item.text, item.scale_min,
                     item.scale_max, reverse, item.label_map])
    for _ in range(5):
        # psy_1 = 7 stays 7; psy_2 = 1 becomes 7; the rest 7: mean 7 -> index 100
        w.response("2025Q1", "2025-03-20", "g1", psy_1=7, psy_2=1, psy_3=7, psy_4=7, psy_5=7,
                   psy_6=7, psy_7=7)
    w.refresh()
    assert w.indicator(Q, "g1", "psychological_safety")["value"] == 100.0


def test_default_instrument_reverses_items_1_3_and_5(con):
    w = base(con)
    for _ in range(5):
        w.response("2025Q1", "2025-03-20", "g1", psy_1=1, psy_2=7, psy_3=1, psy_4=7, psy_5=1,
                   psy_6=7, psy_7=7)
    w.refresh()
    assert w.indicator(Q, "g1", "psychological_safety")["value"] == 100.0


def test_a_response_counts_for_a_construct_when_it_answers_half_its_items(con):
    w = base(con)
    for _ in range(5):
        w.response("2025Q1", "2025-03-20", "g1", bel_1=5, bel_2=5)             # 2 of 4: counts
    w.response("2025Q1", "2025-03-20", "g1", bel_1=1)                          # 1 of 4: not
    w.response("2025Q1", "2025-03-20", "g1", psy_2=7, psy_4=7, psy_6=7)        # 3 of 7: not
    w.refresh()
    row = w.indicator(Q, "g1", "belonging")
    assert (row["value"], row["n"]) == (100.0, 5)
    assert con.execute("SELECT count(*) FROM marts.survey_scores "
                       "WHERE construct = 'psychological_safety'").fetchone()[0] == 0


def test_small_groups_are_suppressed_and_the_next_smallest_hidden_too(con):
    w = base(con)
    for group, count in (("g1", 5), ("g2", 6), ("g3", 3)):
        for _ in range(count):
            w.response("2025Q1", "2025-03-20", group, **same("bel", 4, 4))
    w.refresh()
    rows = con.execute(
        "SELECT group_id, value, n, ci_low, ci_high, status, note FROM marts.indicators "
        "WHERE quarter = ? AND indicator = 'belonging' ORDER BY group_id NULLS FIRST", [Q]
    ).fetchall()
    assert rows == [
        (None, 75.0, 14, 75.0, 75.0, "ok", None),
        # one note for both (anonymity.HIDDEN_NOTE): which reason hid a group is about its n
        ("g1", None, None, None, None, "suppressed", HIDDEN_NOTE(5)),
        ("g2", 75.0, 6, 75.0, 75.0, "ok", None),
        ("g3", None, None, None, None, "suppressed", HIDDEN_NOTE(5)),
    ]


def test_pooling_shows_a_small_group_over_two_quarters_labelled(con):
    w = base(con)
    for survey, day in (("2025Q1", "2025-03-20"), ("2025Q2", "2025-06-20")):
        for _ in range(3):
            w.response(survey, day, "g1", **same("bel", 4, 5))
        for _ in range(6):
            w.response(survey, day, "g2", **same("bel", 4, 3))
        for _ in range(6):
            w.response(survey, day, "g3", **same("bel", 4, 3))
    w.refresh(Config(pool_quarters=True))
    q1 = w.indicator("2025Q1", "g1", "belonging")
    q2 = w.indicator("2025Q2", "g1", "belonging")
    assert q1["status"] == "suppressed" and math.isnan(q1["value"])
    assert (q2["status"], q2["value"], q2["n"], q2["pooled"]) == ("ok", 100.0, 6, True)
    assert q2["note"] == "two quarters pooled (2025Q1+2025Q2)"
    assert q2["verdict"] == "can't tell yet"


def test_reliability_is_cronbach_alpha_per_construct_and_quarter(con):
    w = base(con)
    five_responses(w)
    w.refresh()
    rows = con.execute(
        "SELECT construct, policy, alpha, n, n_items, warning FROM marts.reliability "
        "WHERE construct = 'belonging' ORDER BY policy").fetchall()
    # every response answers all four items alike: the items agree perfectly
    assert rows == [("belonging", "listwise", pytest.approx(1.0), 5, 4, False),
                    ("belonging", "pairwise", pytest.approx(1.0), 5, 4, False)]


def test_reliability_warns_below_0_7(con):
    w = base(con)
    rows = [(1, 5, 2, 4), (5, 1, 4, 2), (2, 2, 5, 1), (4, 4, 1, 5), (3, 3, 3, 3), (1, 2, 3, 4)]
    for r in rows:
        w.response("2025Q1", "2025-03-20", "g1", **dict(zip(("bel_1", "bel_2", "bel_3", "bel_4"),
                                                          r, strict=True)))
    w.refresh()
    alpha, warning = con.execute(
        "SELECT alpha, warning FROM marts.reliability WHERE construct = 'belonging' "
        "AND policy = 'pairwise'").fetchone()
    expected = cronbach_alpha(pd.DataFrame(rows, columns=["b1", "b2", "b3", "b4"])).alpha
    assert alpha == pytest.approx(expected) and expected < 0.7 and warning is True


def test_comments_show_only_for_units_with_ten_responses(con):
    w = base(con)
    for i in range(10):
        w.response("2025Q1", "2025-03-20", "g1", comment=f"comment {i}", **same("bel", 4, 4))
    for i in range(4):
        w.response("2025Q1", "2025-03-20", "g2", comment=f"small {i}", **same("bel", 4, 4))
    for i in range(6):  # g2 and g3 hide 10 responses together: no secondary suppression
        w.response("2025Q1", "2025-03-20", "g3", comment=f"other {i}", **same("bel", 4, 4))
    w.refresh()
    groups = con.execute("SELECT DISTINCT group_id FROM marts.comments "
                         "ORDER BY group_id NULLS FIRST").fetchall()
    assert groups == [(None,), ("g1",)]
    assert con.execute("SELECT count(*) FROM marts.comments WHERE group_id = 'g1'"
                       ).fetchone()[0] == 10


def test_a_self_reported_group_name_counts_for_that_group_and_an_unknown_one_for_nobody(con):
    w = base(con)
    for _ in range(3):
        w.response("2025Q1", "2025-03-20", "g1", **same("bel", 4, 4))
    for _ in range(2):
        w.response("2025Q1", "2025-03-20", " group G1 ", **same("bel", 4, 4))
    # five responses name no known group: enough that the program minus g1 hides no one
    for _ in range(5):
        w.response("2025Q1", "2025-03-20", "Some other circle", **same("bel", 4, 4))
    w.refresh()
    assert w.indicator(Q, "g1", "belonging")["n"] == 5
    assert w.indicator(Q, None, "belonging")["n"] == 10
    groups = con.execute("SELECT DISTINCT group_id FROM marts.indicators "
                         "ORDER BY group_id NULLS FIRST").fetchall()
    assert groups == [(None,), ("g1",), ("g2",), ("g3",)]
