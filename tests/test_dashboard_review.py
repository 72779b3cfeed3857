"""The quarterly review in words: KPI tiles and highlight sentences."""

from __future__ import annotations

import math

import pandas as pd

from dashboard.quarterly import Kpi, figure_words, highlights, kpi, kpis


def row(indicator, value, status="ok", delta=None, verdict="can't tell yet", n=40):
    return {"indicator": indicator, "value": value, "status": status, "delta": delta,
            "verdict": verdict, "n": n}


def test_a_clear_rise_in_a_share_reads_in_points():
    assert kpi(row("attendance_rate", 0.87, delta=0.042, verdict="up"), 5, "2025Q2") == Kpi(
        "attendance_rate", "Attendance rate", "87%", True, "+4.2 pts", "up", "better", "clear rise",
        40)


def test_a_fall_in_loneliness_is_better():
    tile = kpi(row("loneliness_share", 0.3, delta=-0.1, verdict="down"), 5, "2025Q2")
    assert (tile.change, tile.judgement, tile.note) == ("-10 pts", "better", "clear fall")


def test_a_clear_but_trivial_change_reads_in_tenths_and_judges_nothing():
    tile = kpi(row("attendance_rate", 0.87, delta=0.003, verdict="no meaningful change"), 5,
               "2025Q2")
    assert (tile.change, tile.judgement, tile.note) == ("+0.3 pts", "flat",
                                                        "no meaningful change")


def test_no_clear_change_keeps_the_delta_but_judges_nothing():
    tile = kpi(row("belonging", 65.3, delta=-1.44, verdict="no clear change"), 5, "2025Q2")
    assert (tile.value, tile.change, tile.judgement, tile.note) == (
        "65", "-1.4", "flat", "no clear change")


def test_cant_tell_yet_is_said_in_words_not_shown_as_a_delta():
    tile = kpi(row("belonging", 70.0, delta=3.0, verdict="can't tell yet"), 5, "2025Q2")
    assert (tile.value, tile.change, tile.note) == ("70", None, "change vs 2025Q2: can't tell yet")


def test_suppressed_and_insufficient_figures_are_words():
    hidden = kpi(row("belonging", math.nan, status="suppressed", n=None), 5, None)
    thin = kpi(row("newcomer_return", math.nan, status="insufficient", n=2), 5, None)
    assert (hidden.value, hidden.has_figure, hidden.change) == ("fewer than 5 responses", False,
                                                                None)
    assert (thin.value, thin.has_figure, thin.note) == (
        "can't tell yet", False, "too little data this quarter")
    assert (hidden.summary, thin.summary) == (
        "Fewer than 5 responses", "Can't tell yet: too little data this quarter")


def test_a_hidden_selection_says_why():
    tile = kpi({**row("belonging", None, status="suppressed"),
                "note": "fewer than 5 responses would remain outside this selection"}, 5, None)
    assert (tile.value, tile.note) == (
        "fewer than 5 responses", "fewer than 5 responses would remain outside this selection")


def test_tiles_follow_the_review_order():
    frame = pd.DataFrame([row("belonging", 60.0), row("attendance_rate", 0.9),
                          row("host_hhi", 0.1)])
    assert [t.indicator for t in kpis(frame, 5, None)] == ["attendance_rate", "belonging"]


def test_highlights_name_the_clear_changes_first_and_sum_up_the_rest():
    counts = pd.DataFrame({
        "indicator": ["belonging", "belonging", "attendance_rate", "peer_support"],
        "direction": ["up", "down", "down", "up"],
        "moved": [4, 2, 9, 1],
        "clear": [2, 0, 1, 1],
    })
    assert highlights(counts) == [
        "Belonging rose in 4 groups; the change is clear in 2.",
        "Attendance rate fell in 9 groups; the change is clear in 1.",
        "Peer support rose in 1 group; the change is clear.",
        "The other movements between groups are within what chance produces.",
    ]


def test_highlights_say_when_nothing_changed_clearly():
    counts = pd.DataFrame({"indicator": ["belonging"], "direction": ["up"], "moved": [3],
                           "clear": [0]})
    assert highlights(counts) == [
        "No group changed clearly on any indicator: every movement is within what chance "
        "produces."]


def test_a_pooled_figure_is_labelled_and_has_no_change():
    tile = kpi({**row("belonging", 64.0, delta=2.0, verdict="up"), "pooled": True}, 5, "2025Q2")
    assert (tile.value, tile.change, tile.summary) == ("64", None, "Two quarters pooled")
    assert figure_words("belonging", 64.0, "ok", 5, True) == "64 (two quarters pooled)"
    assert figure_words("belonging", None, "suppressed", 5, True) == "fewer than 5 responses"
