"""Action plans in the state store: who may write and read them, and their full history."""

from __future__ import annotations

import json

import pytest

from hearth import actions as store
from hearth.access import Viewer, local_viewer
from hearth.errors import HearthError
from hearth.state import events, state

LEAD = Viewer(email="lead@example.org", name="Lee", role="lead", groups=None)
COACH_A = Viewer(email="a@example.org", name="Ada", role="coach", groups=frozenset({"g11"}))
COACH_B = Viewer(email="b@example.org", name="Bo", role="coach", groups=frozenset({"g01"}))
COUNCIL = Viewer(email="c@example.org", name="Cy", role="council", groups=frozenset())
NO_ROLE = Viewer(email="x@example.org", name="Xi", role=None)


@pytest.fixture
def con(tmp_path):
    with state(tmp_path / "hearth.duckdb") as con:
        yield con


def add(con, viewer=COACH_A, **extra):
    fields = {"quarter": "2026Q2", "what": "Coach joins two sessions", "group_id": "g11",
              "flag": "low_safety", "indicators": ["psychological_safety"],
              "theme": "How members feel", "due_on": "2026-08-01", **extra}
    return store.add_action(con, viewer, **fields)


def test_a_coach_adds_an_action_to_their_group_and_owns_it_by_default(con):
    action = add(con)
    assert {k: action[k] for k in ("quarter", "scope", "group_id", "flag", "owner", "status",
                                   "indicators", "due_on")} == {
        "quarter": "2026Q2", "scope": "flag", "group_id": "g11", "flag": "low_safety",
        "owner": "a@example.org", "status": "planned", "indicators": ["psychological_safety"],
        "due_on": "2026-08-01"}


def test_every_change_is_kept_with_who_and_when_and_logged_without_its_text(con):
    action = add(con)
    store.update_action(con, COACH_A, action["action_id"], status="doing",
                        notes="Talked to the host")
    store.update_action(con, LEAD, action["action_id"], status="done")
    changes = [(h["actor"], h["field"], h["old_value"], h["new_value"])
               for h in store.history(con, COACH_A, action["action_id"])
               if h["field"] in ("status", "notes")]
    assert changes == [
        ("a@example.org", "status", None, "planned"),
        ("a@example.org", "status", "planned", "doing"),
        ("a@example.org", "notes", "", "Talked to the host"),
        ("lead@example.org", "status", "doing", "done"),
    ]
    logged = events(con)
    assert [e["action"] for e in logged] == ["action.update", "action.update", "action.add"]
    assert "Talked to the host" not in json.dumps(logged)
    assert "Coach joins" not in json.dumps(logged)


def test_another_coach_can_neither_see_nor_change_an_action_on_a_group_they_do_not_coach(con):
    action = add(con)
    assert store.list_actions(con, COACH_B) == []
    with pytest.raises(HearthError, match=f"no action {action['action_id']}"):
        store.get_action(con, COACH_B, action["action_id"])
    with pytest.raises(HearthError, match=f"no action {action['action_id']}"):
        store.update_action(con, COACH_B, action["action_id"], status="dropped")
    with pytest.raises(store.NotAllowed, match="not one of the groups you coach"):
        add(con, COACH_B)
    assert store.get_action(con, COACH_A, action["action_id"])["status"] == "planned"


def test_the_council_reads_only_counts_by_status_and_theme(con):
    add(con)
    add(con, LEAD, group_id=None, flag=None, indicators=["attendance_rate"],
        theme="Participation", status="doing", what="Evening slots for g11's members")
    with pytest.raises(store.NotAllowed, match="summary"):
        store.list_actions(con, COUNCIL)
    with pytest.raises(store.NotAllowed):
        store.get_action(con, COUNCIL, 1)
    summary = store.summary(con, COUNCIL)
    assert summary["total"] == 2
    assert summary["by_status"] == {"planned": 1, "doing": 1, "done": 0, "dropped": 0}
    assert summary["by_theme"] == {"How members feel": 1, "Participation": 1}
    text = json.dumps(summary)
    assert "g11" not in text and "example.org" not in text and "Coach joins" not in text


def test_coaches_read_program_actions_but_only_the_lead_writes_them(con):
    program = add(con, LEAD, group_id=None, flag=None, theme="Participation",
                  indicators=["attendance_rate"], what="Captioning for every session")
    assert [a["action_id"] for a in store.list_actions(con, COACH_B)] == [program["action_id"]]
    with pytest.raises(store.NotAllowed, match="only the program lead"):
        store.update_action(con, COACH_B, program["action_id"], status="done")
    with pytest.raises(store.NotAllowed, match="program-wide actions"):
        add(con, COACH_A, group_id=None, flag=None)


def test_someone_without_a_role_reads_nothing(con):
    add(con)
    for call in (lambda: store.list_actions(con, NO_ROLE), lambda: store.summary(con, NO_ROLE),
                 lambda: add(con, NO_ROLE)):
        with pytest.raises(store.NotAllowed):
            call()


def test_in_local_mode_the_coach_view_coaches_every_group_and_owner_is_free_text(con):
    action = add(con, local_viewer("coach"), owner="Sam (host)")
    assert action["owner"] == "Sam (host)"
    assert action["created_by"] == "local"


@pytest.mark.parametrize(("change", "message"), [
    ({"status": "finished"}, "status 'finished' is not one of planned, doing, done, dropped"),
    ({"due_on": "next week"}, "due date 'next week' is not a date; write it like 2026-09-30"),
    ({"what": "  "}, "an action needs what will be done; say it in a few words"),
    ({"group_id": "g11", "quarter": "Q3"}, "'Q3' is not a quarter; write it like 2025Q3"),
])
def test_bad_fields_get_a_one_line_message(con, change, message):
    with pytest.raises(HearthError) as exc:
        add(con, **change)
    assert str(exc.value) == message


def test_open_actions_from_earlier_quarters_are_counted_by_quarter(con):
    add(con)
    add(con, status="doing")
    add(con, status="done")
    add(con, quarter="2026Q3")
    assert store.open_from_earlier(con, COACH_A, "2026Q3") == {"2026Q2": 2}
    assert store.open_from_earlier(con, COACH_B, "2026Q3") == {}
    assert store.open_from_earlier(con, COUNCIL, "2026Q3") == {"2026Q2": 2}
