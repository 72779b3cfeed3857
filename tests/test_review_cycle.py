"""The review as a cycle, on the sample community loaded quarter by quarter.

The story: the sample is loaded up to 2026Q2 with a few of 2026Q2's survey responses held back.
Coach A (who coaches g11) adds an action to g11's low-safety flag and marks it doing; coach B
and the council look; the lead signs off 2026Q2; the held-back responses arrive late; then
2026Q3 is loaded and the action is followed up.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from hearth import actions as store
from hearth.access import Viewer
from hearth.cli import main
from hearth.errors import HearthError
from hearth.orchestrate import follow_up_tests, ingest
from hearth.state import events, state, state_path
from hearth.warehouse import AUDIENCES, connect, publish, published_path
from metrics import followup, signoff
from metrics.presentation import TESTED_AT_NEXT_REFRESH
from tests.conftest import SAMPLE_DIR, sample_config
from tests.test_dashboard_pages import app_for, no_exception, open_page

CUT = "2026-07-01"  # 2026Q3 starts
HELD_BACK_GROUPS = {"g01", "g02"}  # their 2026Q2 responses arrive after the sign-off

LEAD = Viewer(email="lead@example.org", name="Lee", role="lead", groups=None)
COACH_A = Viewer(email="a@example.org", name="Ada", role="coach", groups=frozenset({"g11"}))
COACH_B = Viewer(email="b@example.org", name="Bo", role="coach",
                 groups=frozenset({"g01", "g02"}))
COUNCIL = Viewer(email="c@example.org", name="Cy", role="council", groups=frozenset())


def _split(name: str, folders: dict[str, Path], which) -> None:
    with open(SAMPLE_DIR / name, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        fields = reader.fieldnames
    for part, folder in folders.items():
        with open(folder / name, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=fields)
            writer.writeheader()
            writer.writerows(r for r in rows if which(r) == part)


def split_sample(root: Path) -> dict[str, Path]:
    """The sample's canonical files cut into: up to 2026Q2 (minus the held-back responses),
    the held-back 2026Q2 responses, and 2026Q3."""
    folders = {p: root / p for p in ("until_q2", "late_q2", "q3")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    for name in ("groups.csv", "members.csv"):
        shutil.copy(SAMPLE_DIR / name, folders["until_q2"] / name)
    with open(SAMPLE_DIR / "sessions.csv", newline="", encoding="utf-8") as f:
        session_day = {r["session_id"]: r["starts_at"][:10] for r in csv.DictReader(f)}

    def by_day(day: str) -> str:
        return "until_q2" if day < CUT else "q3"

    _split("sessions.csv", folders, lambda r: by_day(r["starts_at"][:10]))
    _split("attendance.csv", folders, lambda r: by_day(session_day[r["session_id"]]))
    _split("buddy_checkins.csv", folders, lambda r: by_day(r["checked_in_at"][:10]))
    _split("survey_responses.csv", folders, lambda r: (
        "q3" if r["survey_id"] >= "2026Q3" else
        "late_q2" if r["survey_id"] == "2026Q2" and r["group_id"] in HELD_BACK_GROUPS
        else "until_q2"))
    # the late file is named as a lead would find it
    (folders["late_q2"] / "survey_responses.csv").rename(
        folders["late_q2"] / "late_survey_2026Q2.csv")
    for name in ("sessions.csv", "attendance.csv", "buddy_checkins.csv"):
        (folders["late_q2"] / name).unlink()
    return folders


def load(folder: Path, db: Path) -> None:
    summaries = ingest([folder], db=db, config=sample_config())
    assert not [s.error for s in summaries if s.error]


def read(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """Runs the whole story once; the tests check what each step left behind."""
    root = tmp_path_factory.mktemp("cycle")
    folders = split_sample(root)
    db = root / "hearth.duckdb"
    config = sample_config()
    seen: dict = {}
    load(folders["until_q2"], db)
    with state(db) as state_con:
        con = read(db)
        try:
            seen["flags_q2"] = followup.api.flags_records(con, "2026Q2")
            action = followup.plan_action(con, state_con, COACH_A, quarter="2026Q2",
                                          group_id="g11", flag="low_safety",
                                          what="Coach sits in on two sessions")
            store.update_action(state_con, COACH_A, action["action_id"], status="doing")
            seen["action_id"] = action["action_id"]
            seen["follow_up_before_q3"] = followup.follow_up(con, state_con, COACH_A, config,
                                                             action["action_id"])
            seen["signed"] = signoff.sign_off(con, state_con, LEAD, config, "2026Q2")
            seen["since_at_once"] = signoff.since_signoff(con, state_con, config, "2026Q2")
        finally:
            con.close()
    load(folders["late_q2"], db)
    with state(db) as state_con:
        con = read(db)
        try:
            seen["since_late"] = signoff.since_signoff(con, state_con, config, "2026Q2")
        finally:
            con.close()
    load(folders["q3"], db)
    seen["db"] = db
    seen["config"] = config
    return seen


def test_coach_a_adds_an_action_to_a_flagged_group_and_marks_it_doing(cycle):
    assert {"group_id": "g11", "flag": "low_safety"} in [
        {"group_id": f["group_id"], "flag": f["flag"]} for f in cycle["flags_q2"]]
    with state(cycle["db"]) as state_con:
        action = store.get_action(state_con, COACH_A, cycle["action_id"])
        logged = [(e["actor"], e["action"]) for e in events(state_con)
                  if e["action"].startswith("action.")]
    assert (action["status"], action["owner"], action["indicators"]) == (
        "doing", "a@example.org", ["psychological_safety"])
    assert logged == [("a@example.org", "action.update"), ("a@example.org", "action.add")]


def test_before_the_next_quarter_there_is_only_a_before(cycle):
    item = cycle["follow_up_before_q3"]["indicators"][0]
    assert item["before"]["quarter"] == "2026Q2"
    assert item["before"]["figure"]["status"] == "ok"
    assert item["after"] == []


def test_after_the_next_quarter_the_action_shows_before_after_and_the_comparison(cycle):
    with state(cycle["db"]) as state_con:
        con = read(cycle["db"])
        try:
            report = followup.follow_up(con, state_con, COACH_A, cycle["config"],
                                        cycle["action_id"])
            flagged = followup.api.flags(con, "2026Q2")
        finally:
            con.close()
    item = report["indicators"][0]
    before, (after,) = item["before"]["figure"], item["after"]
    assert after["quarter"] == "2026Q3"
    for figure in (before, after["figure"]):
        assert figure["status"] == "ok"
        assert figure["ci_low"] < figure["value"] < figure["ci_high"]
    assert after["delta"] == pytest.approx(after["figure"]["value"] - before["value"])
    assert after["verdict"] in ("up", "down", "no clear change")
    comparison = after["comparison"]
    # the comparison is made only of other groups flagged in 2026Q2, without an action
    others = set(flagged["group_id"]) - {"g11"} - {
        g for g, f in zip(flagged["group_id"], flagged["flag"], strict=True)
        if f == "cant_tell_yet"}
    assert comparison["groups"] <= len(others)
    assert comparison["verdict"] in ("can't tell yet", "cannot tell apart",
                                     "better than comparable groups",
                                     "worse than comparable groups")
    assert comparison["text"]


def test_coach_b_cannot_see_or_edit_the_action(cycle):
    with state(cycle["db"]) as state_con:
        assert store.list_actions(state_con, COACH_B) == []
        with pytest.raises(HearthError, match="no action"):
            store.update_action(state_con, COACH_B, cycle["action_id"], status="dropped")
        con = read(cycle["db"])
        try:
            with pytest.raises(HearthError, match="no action"):
                followup.follow_up(con, state_con, COACH_B, cycle["config"], cycle["action_id"])
        finally:
            con.close()


def test_the_council_sees_the_action_only_in_the_summary(cycle):
    with state(cycle["db"]) as state_con:
        with pytest.raises(store.NotAllowed):
            store.list_actions(state_con, COUNCIL)
        summary = store.summary(state_con, COUNCIL)
    assert summary["by_status"]["doing"] == 1
    assert summary["by_theme"] == {"How members feel": 1}
    assert "g11" not in json.dumps(summary) and "Coach sits" not in json.dumps(summary)


def test_the_open_action_carries_over_to_the_next_quarters_review(cycle):
    with state(cycle["db"]) as state_con:
        con = read(cycle["db"])
        try:
            carried = followup.carry_over(con, state_con, LEAD, "2026Q3")
            for_b = followup.carry_over(con, state_con, COACH_B, "2026Q3")
        finally:
            con.close()
    assert carried["sentences"] == ["1 action open from 2026Q2"]
    assert for_b["sentences"] == []
    assert {"quarter": "2026Q2", "group_id": "g11", "flag": "low_safety"} in [
        {k: f[k] for k in ("quarter", "group_id", "flag")} for f in carried["flags"]]


def test_right_after_sign_off_nothing_has_changed(cycle):
    since = cycle["since_at_once"]
    assert since["signed_by"] == "lead@example.org"
    assert (since["late_loads"], since["changes"]) == ([], [])


def test_a_late_file_for_a_signed_quarter_is_marked_and_the_review_shows_the_difference(cycle):
    since = cycle["since_late"]
    assert [(f["file_name"], f["kind"]) for f in since["late_loads"]] == [
        ("late_survey_2026Q2.csv", "survey_responses")]
    assert since["late_loads"][0]["rows_in_quarter"] > 0
    changed = {(c["unit"], c["indicator"]) for c in since["changes"]}
    assert ("program", "belonging") in changed
    assert {u for u, _ in changed} <= {"program", *HELD_BACK_GROUPS}
    program = next(c for c in since["changes"] if c["unit"] == "program"
                   and c["indicator"] == "belonging")
    assert program["signed"] != program["now"]


def test_the_review_page_of_the_signed_quarter_shows_the_late_file_and_what_changed(
        cycle, monkeypatch):
    at = open_page(app_for(monkeypatch, cycle["db"], "lead", filter_quarter="2026Q2"), "review")
    no_exception(at)
    assert any(t.value.startswith("2026Q2 was signed off by lead@example.org") for t in at.text)
    (late,) = [w.value for w in at.warning if "loaded after the sign-off" in w.value]
    assert "late_survey_2026Q2.csv" in late
    (changed,) = [d.value for d in at.dataframe if list(d.value.columns) == [
        "unit", "title", "signed", "now"]]
    program = changed[(changed["unit"] == "program") & (changed["title"] == "Belonging")]
    assert len(program) == 1 and program.iloc[0]["signed"] != program.iloc[0]["now"]


def test_the_signed_figures_are_kept_as_signed(cycle):
    with state(cycle["db"]) as state_con:
        kept = store_signoff(state_con)
    assert kept["figures"]["review"]["quarter"] == "2026Q2"
    assert kept["figures"]["review"] == cycle["signed"]["figures"]["review"]


def store_signoff(state_con):
    from hearth.signoffs import latest_signoff

    return latest_signoff(state_con, "2026Q2")


def test_only_a_lead_signs_off(cycle):
    with state(cycle["db"]) as state_con:
        con = read(cycle["db"])
        try:
            for viewer in (COACH_A, COUNCIL):
                with pytest.raises(store.NotAllowed, match="only the program lead"):
                    signoff.sign_off(con, state_con, viewer, cycle["config"], "2026Q2")
        finally:
            con.close()


# --- survey-index verdicts, tested on the warehouse and published for the pages ---------------

VERDICT_TEXTS = ("clearly up", "clearly down", "no clear change",
                 "a clear but small change (less than the practical minimum)", "can't tell yet")


def hearth(db: Path, *args: str) -> int:
    return main(["--db", str(db), "--config", str(SAMPLE_DIR / "hearth.toml"), *args])


def after_line(text: str, quarter: str = "2026Q3") -> str:
    """The follow-up's line for `quarter`: '2026Q3 36 (19-53) n=8: no clear change'."""
    (line,) = [x.strip() for x in text.splitlines() if x.strip().startswith(f"{quarter} ")]
    return line


def test_the_actions_page_gives_the_verdict_hearth_actions_show_gives(cycle, monkeypatch,
                                                                     capsys):
    # `hearth actions show` tests psychological safety on the answers in the warehouse; the
    # page reads the test the refresh published into the coach's snapshot
    assert hearth(cycle["db"], "actions", "show", str(cycle["action_id"])) == 0
    from_cli = after_line(capsys.readouterr().out)
    at = open_page(app_for(monkeypatch, cycle["db"], "coach"), "actions")
    no_exception(at)
    on_page = after_line("\n".join(t.value for t in at.text))
    assert on_page == from_cli
    verdict = from_cli.rsplit(": ", 1)[1]
    assert verdict in VERDICT_TEXTS and verdict != "can't tell yet"  # both figures are shown
    (table,) = [d.value for d in at.dataframe if "change since the action" in d.value.columns]
    assert table.loc[table["quarter"] == "2026Q3", "change since the action"].tolist() == [
        verdict]


@pytest.fixture
def cycle_copy(cycle, tmp_path) -> Path:
    """The cycle's warehouse, snapshots and state store, to add actions to."""
    copy = tmp_path / "hearth.duckdb"
    shutil.copy(cycle["db"], copy)
    for audience in AUDIENCES:
        shutil.copy(published_path(cycle["db"], audience), published_path(copy, audience))
    shutil.copy(state_path(cycle["db"]), state_path(copy))
    return copy


def add_and_publish(db: Path, group: str, indicator: str) -> tuple[int, int]:
    """Add an action decided in 2026Q2 on `group`'s `indicator`, then run the refresh's
    publish step (the tests, then the snapshots); (action id, tests published)."""
    with state(db) as state_con:
        con = read(db)
        try:
            action = followup.plan_action(con, state_con, LEAD, quarter="2026Q2",
                                          group_id=group, what="Try something",
                                          indicators=[indicator])
        finally:
            con.close()
    con = connect(db)
    try:
        rows = follow_up_tests(con, db)
        publish(con, db)
    finally:
        con.close()
    return action["action_id"], rows


def follow_up_after(db: Path, action_id: int, audience: str | None = None) -> dict:
    """The action's 2026Q3 follow-up, on the warehouse (None) or an audience's snapshot."""
    source = db if audience is None else published_path(db, audience)
    with state(db) as state_con:
        con = duckdb.connect(str(source), read_only=True)
        try:
            (item,) = followup.follow_up(con, state_con, LEAD, sample_config(),
                                         action_id)["indicators"]
        finally:
            con.close()
    (after,) = item["after"]
    return after


def test_a_hidden_figure_gets_no_verdict_in_any_snapshot(cycle_copy, capsys):
    # g12's psychological safety is shown in 2026Q2 but hidden in 2026Q3 (too few responses,
    # or hidden beside a smaller group): a verdict on the pair would leak the hidden figure
    db = cycle_copy
    con = read(db)
    try:
        statuses = dict(con.execute(
            "SELECT quarter, status FROM marts.indicators WHERE group_id = 'g12' "
            "AND indicator = 'psychological_safety' AND quarter IN ('2026Q2', '2026Q3')"
        ).fetchall())
    finally:
        con.close()
    assert statuses == {"2026Q2": "ok", "2026Q3": "suppressed"}
    action_id, rows = add_and_publish(db, "g12", "psychological_safety")
    assert rows == 1  # the cycle's own action on g11; nothing for g12
    for audience in AUDIENCES:
        snap = duckdb.connect(str(published_path(db, audience)), read_only=True)
        try:
            tables = {t for (t,) in snap.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
            assert ("action_survey_tests" in tables) == (audience != "council")
            if audience != "council":
                assert snap.execute("SELECT count(*) FROM marts.action_survey_tests "
                                    "WHERE group_id = 'g12'").fetchone()[0] == 0
        finally:
            snap.close()
    # the warehouse (`hearth actions show`) and the lead's snapshot both say no more
    for audience in (None, "lead"):
        after = follow_up_after(db, action_id, audience)
        assert (after["verdict"], after["p_adjusted"]) == ("can't tell yet", None)
    assert hearth(db, "privacy-check") == 0
    assert "0 hidden figure(s) determined" in capsys.readouterr().out


def test_an_action_added_after_the_refresh_is_tested_at_the_next_one(cycle_copy):
    db = cycle_copy
    with state(db) as state_con:
        con = read(db)
        try:
            late = followup.plan_action(con, state_con, LEAD, quarter="2026Q2", group_id="g13",
                                        what="Buddy pairs", indicators=["belonging"])
        finally:
            con.close()
    waiting = follow_up_after(db, late["action_id"], "coach")
    assert (waiting["verdict"], waiting["verdict_text"]) == (TESTED_AT_NEXT_REFRESH,
                                                             "tested at the next refresh")
    assert waiting["figure"]["status"] == "ok"  # the figure is there; only its test waits
    in_warehouse = follow_up_after(db, late["action_id"])
    con = connect(db)
    try:
        follow_up_tests(con, db)
        publish(con, db)
    finally:
        con.close()
    tested = follow_up_after(db, late["action_id"], "coach")
    assert tested["verdict"] == in_warehouse["verdict"] != TESTED_AT_NEXT_REFRESH
    assert tested["p_adjusted"] == pytest.approx(in_warehouse["p_adjusted"])
    # the comparison with flagged groups without an action is made on the snapshot too
    assert tested["comparison"] == in_warehouse["comparison"]


def test_the_auditor_flags_a_published_test_of_a_hidden_figure(cycle_copy, capsys):
    db = cycle_copy
    snap = duckdb.connect(str(published_path(db, "coach")))
    try:
        snap.execute("INSERT INTO marts.action_survey_tests VALUES "
                     "('g12', 'psychological_safety', '2026Q2', '2026Q3', 0.5)")
    finally:
        snap.close()
    assert hearth(db, "privacy-check") == 1
    assert ("action's test of a survey figure not released: 2026Q3 psychological_safety "
            "group:g12 (tested against 2026Q2)") in capsys.readouterr().out
