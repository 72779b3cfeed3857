"""The coach's day (dashboard/coach_day.py, app_pages/coach.py) and the comments component
(dashboard/comments.py): pure functions first, then the pages in Streamlit's AppTest."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from conftest import COACH_GROUPS
from test_dashboard_access import page_text, signed_in_app

from dashboard import coach_day, comments, queries
from hearth.warehouse import published_path
from metrics import api
from metrics.presentation import comment_key
from tests.test_dashboard_pages import app_for, no_exception, open_page

QUARTER = "2026Q3"


# --- comments: grouping, search, pages ---------------------------------------------------------

def test_comments_the_same_but_for_case_spacing_and_punctuation_count_as_one():
    said = pd.Series(["Glad I came.", "glad i came", "Glad  I came!!", "Glad I came.",
                      "Me alegra haber venido.", "me alegra haber venido", "Thanks", None, "  ",
                      "Thanks, but the time slot is hard."])
    table = comments.grouped(said)
    assert table[["comment", "count"]].values.tolist() == [
        ["Glad I came.", 4],               # the most written spelling stands for the rest
        ["Me alegra haber venido.", 2],    # tie between spellings: the first alphabetically
        ["Thanks", 1],
        ["Thanks, but the time slot is hard.", 1],   # different words are never merged
    ]


def test_accents_and_non_latin_letters_are_kept_when_grouping():
    assert comment_key("Café — très BIEN !") == "café très bien"
    assert comment_key("楽しい。") == "楽しい"
    assert comment_key(None) == ""


def test_searching_the_comments_ignores_case_and_punctuation():
    table = comments.grouped(pd.Series(["The check-in round works.", "More time, please",
                                        "Check in earlier?"]))
    assert set(comments.matching(table, "CHECK-IN")["comment"]) == {
        "The check-in round works.", "Check in earlier?"}
    assert len(comments.matching(table, "  ")) == 3
    assert comments.matching(table, "nothing like this").empty


def test_pages_of_comments_are_whole_and_clamped():
    table = comments.grouped(pd.Series([f"comment {i}" for i in range(40)]))
    assert comments.pages(len(table)) == 3
    assert len(comments.page_of(table, 1)) == comments.PAGE_SIZE
    assert len(comments.page_of(table, 3)) == 40 - 2 * comments.PAGE_SIZE
    assert comments.page_of(table, 9).equals(comments.page_of(table, 3))
    assert comments.pages(0) == 1


# --- comments through the read layer ------------------------------------------------------------

def test_a_selections_comments_are_the_released_lists_of_its_groups(sample_warehouse):
    with duckdb.connect(str(published_path(sample_warehouse, "coach")), read_only=True) as con:
        rows, left_out = api.selection_comments(con, QUARTER, ["g02", "g01", "g06"])
        own = api.comments(con, QUARTER, "g01")
    assert not own.empty, "the sample releases g01's comments in 2026Q3"
    assert set(rows["group_id"]) == {"g01"}
    assert sorted(rows["comment"]) == sorted(own["comment"])
    assert left_out == ["g02", "g06"]


def test_compare_groups_and_counts_the_programs_comments(monkeypatch, sample_warehouse):
    at = open_page(app_for(monkeypatch, sample_warehouse, "lead", filter_quarter=QUARTER),
                   "compare")
    no_exception(at)
    shown = next(d.value for d in at.dataframe if "count" in d.value.columns)
    program = queries.comments(queries.snapshot(sample_warehouse), QUARTER)
    expected = comments.grouped(program["comment"])
    assert list(shown.columns) == ["comment", "count"]
    assert shown.values.tolist() == \
        expected[["comment", "count"]].head(comments.PAGE_SIZE).values.tolist()
    assert int(expected["count"].sum()) == len(program)
    assert any("different comments" in c.value and "written in all" in c.value
               for c in at.caption)


def test_comments_follow_the_group_filter_where_the_rule_allows(monkeypatch, sample_warehouse):
    # Isaac Boateng's five groups: only g01 has enough responses for its own comments.
    at = open_page(app_for(monkeypatch, sample_warehouse, "lead", filter_quarter=QUARTER,
                           filter_coach=["Isaac Boateng"]), "compare")
    no_exception(at)
    assert any(c.value.startswith("Comments from 1 of the 5 selected groups; the other 4 are "
                                  "left out: a group's comments are shown only when at least 10")
               for c in at.caption)
    with duckdb.connect(str(published_path(sample_warehouse, "lead")), read_only=True) as con:
        g01 = set(api.comments(con, QUARTER, "g01")["comment"])
    table = next(d.value for d in at.dataframe if "count" in d.value.columns)
    assert set(table["comment"]) <= g01


def test_comments_say_plainly_when_the_selection_cannot_be_filtered(monkeypatch,
                                                                    sample_warehouse):
    at = open_page(app_for(monkeypatch, sample_warehouse, "lead", filter_quarter=QUARTER,
                           filter_coach=["Oscar Quinn"]), "compare")
    no_exception(at)
    assert any(i.value.startswith("Comments cannot be filtered to the 5 selected groups")
               for i in at.info)
    assert any("not filtered to the selection" in c.value for c in at.caption)


# --- the coach's day ----------------------------------------------------------------------------

def test_names_with_numbers_sort_as_numbers():
    assert sorted(["Circle 10", "Circle 2", "circle 1", "Circle"], key=coach_day.natural_key) \
        == ["Circle", "circle 1", "Circle 2", "Circle 10"]


def test_groups_read_flagged_then_to_watch_then_fine():
    groups = pd.DataFrame({"group_id": ["a", "b", "c", "d"],
                           "name": ["Circle 10", "Circle 2", "Porch", "Table"],
                           "coach": ["Ana", "Ana", "Ben", None]})
    flags = coach_day.flag_rows(pd.DataFrame({
        "group_id": ["a", "c"], "flag": ["shrinking", "single_host"],
        "reason": ["Lost 4 of 10.", "One member hosted every session."],
        "evidence": [None, None], "since": ["2026Q3", "2026Q2"],
        "state": ["new", "resolved"], "quarters": [1, 1]}))
    indicators = pd.DataFrame({
        "group_id": ["b", "d", "d"], "indicator": ["belonging", "attendance_rate", "belonging"],
        "status": ["ok", "ok", "suppressed"], "delta": [-8.0, 0.12, -9.0],
        "verdict": ["down", "up", "down"]})
    days = coach_day.group_days(groups, flags, indicators)
    assert days[["group_id", "severity"]].values.tolist() == [
        ["a", "flagged"], ["b", "watch"], ["c", "watch"], ["d", "fine"]]
    assert days.loc[0, "flags"] == "The group is shrinking"
    assert days.loc[0, "since"] == "The group is shrinking: new this quarter"
    assert days.loc[1, "why"] == "Belonging: clear fall, -8"
    assert days.loc[2, "why"] == "flag resolved this quarter: one person hosts every session"
    # a clear rise is a change, not a worry; a hidden figure's change is not shown at all
    assert days.loc[3, "changes"] == "Attendance rate: clear rise, +12 pts"
    assert coach_day.counts_sentence(coach_day.severity_counts(days)) == \
        "4 groups: 1 flagged, 2 to watch, 1 fine."
    assert coach_day.coach_options(days) == {"Ana": "Ana · 2 groups, 1 flagged",
                                             "Ben": "Ben · 1 group"}


def test_a_group_with_a_member_drifting_away_is_to_watch():
    # two or more drifting raise the withdrawal_cluster flag; one is a group to watch
    groups = pd.DataFrame({"group_id": ["a", "b", "c"], "name": ["Circle", "Porch", "Table"],
                           "coach": ["Ana", "Ana", "Ana"]})
    flags = coach_day.flag_rows(pd.DataFrame({
        "group_id": ["a"], "flag": ["withdrawal_cluster"],
        "reason": ["2 members show withdrawal signals (see the watchlist)."],
        "evidence": [None], "since": ["2026Q3"], "state": ["new"], "quarters": [1]}))
    indicators = pd.DataFrame(columns=["group_id", "indicator", "status", "delta", "verdict"])
    days = coach_day.group_days(groups, flags, indicators, {"a": 2, "b": 1})
    assert days[["group_id", "severity", "why"]].values.tolist() == [
        ["a", "flagged", "2 members show withdrawal signals (see the watchlist)."],
        ["b", "watch", "1 member drifting away (see the group's members)"],
        ["c", "fine", ""]]


def test_no_group_with_members_drifting_reads_fine_on_the_sample(sample_warehouse):
    snap = queries.snapshot(sample_warehouse, "coach")
    days, _ = coach_day.days(snap, QUARTER, None)
    drifting = queries.drifting_members(snap, QUARTER)
    assert drifting  # the sample has members drifting away this quarter
    severity = dict(zip(days["group_id"], days["severity"], strict=True))
    assert [g for g in drifting if severity[g] == "fine"] == []
    assert queries.drifting_members(queries.snapshot(sample_warehouse, "lead"), QUARTER) == {}


def test_a_signed_in_coach_lands_on_their_own_groups_and_sees_the_rest_as_totals(
        monkeypatch, sample_warehouse, access_config):
    names = queries.group_names(queries.snapshot(sample_warehouse))
    own = COACH_GROUPS["coach_a"]
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "coach_a").run()
    no_exception(at)
    subheaders = [s.value for s in at.subheader]
    assert subheaders[:2] == ["Your groups", "The rest of the program"]
    assert any(m.value.startswith("5 groups: ") for m in at.markdown)
    assert any(m.value.startswith("Across the other 15 groups: ") for m in at.markdown)
    assert "coach_focus" not in [s.key for s in at.selectbox]  # no picker: the day is theirs
    versus = next(d.value for d in at.dataframe if "program" in d.value.columns)
    assert list(versus.columns) == ["indicator", "yours", "program"]
    options = at.selectbox(key="drilldown_group").options
    assert {o.removesuffix("  ⚑") for o in options} == {names[g] for g in own}
    others = [names[g] for g in names if g not in own]
    text = page_text(at)
    assert [n for n in others if n in text] == []


def test_someone_who_sees_every_group_picks_a_coach_by_name(monkeypatch, sample_warehouse):
    names = queries.group_names(queries.snapshot(sample_warehouse))
    at = open_page(app_for(monkeypatch, sample_warehouse, "coach", filter_quarter=QUARTER,
                           coach_focus="Oscar Quinn"), "coach")
    no_exception(at)
    assert "Oscar Quinn's groups" in [s.value for s in at.subheader]
    flagged = at.dataframe[0].value
    assert set(flagged["group_name"]) <= {names[g] for g in COACH_GROUPS["coach_b"]}
    first = at.selectbox(key="drilldown_group").value
    assert first in COACH_GROUPS["coach_b"]
    assert any(m.value.startswith("Across the other 15 groups: ") for m in at.markdown)


def test_a_lead_opens_any_coachs_day_without_the_members(monkeypatch, sample_warehouse,
                                                         access_config):
    names = queries.group_names(queries.snapshot(sample_warehouse))
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "lead",
                       filter_quarter=QUARTER, coach_focus="Oscar Quinn")
    at.run().switch_page("app_pages/coach.py").run()
    no_exception(at)
    assert "Oscar Quinn's groups" in [s.value for s in at.subheader]
    assert at.selectbox(key="drilldown_group").value in COACH_GROUPS["coach_b"]
    assert any("Members drifting away are for their coaches only" in c.value for c in at.caption)
    assert set(at.dataframe[0].value["group_name"]) <= {names[g] for g in COACH_GROUPS["coach_b"]}
    # member-level views exist only for a coach's own groups: no watchlist for the lead
    assert "Members showing withdrawal signals" not in [s.value for s in at.subheader]
    assert "watchlist" not in [d.key for d in at.dataframe]


@pytest.mark.parametrize("quarter", ["2026Q2", QUARTER])
def test_every_group_is_in_exactly_one_severity(monkeypatch, sample_warehouse, quarter):
    snap = queries.snapshot(sample_warehouse)
    days, _ = coach_day.days(snap, quarter, None)
    assert sorted(days["group_id"]) == sorted(queries.groups(snap)["group_id"])
    assert set(days["severity"]) <= set(coach_day.SEVERITIES)
    ranks = [coach_day.SEVERITIES.index(s) for s in days["severity"]]
    assert ranks == sorted(ranks)
