"""The review cycle's pages with AppTest: actions added and followed up, the council's summary,
going well and sign-off on the quarterly review."""

from __future__ import annotations

import pytest

from hearth import actions as store
from hearth.access import local_viewer
from hearth.state import state
from tests.test_community_update import private_copy
from tests.test_dashboard_pages import app_for, no_exception, open_page


@pytest.fixture
def warehouse(sample_warehouse, tmp_path):
    """A private copy: these tests write actions and sign-offs beside it."""
    return private_copy(sample_warehouse, tmp_path)


def test_a_lead_adds_an_action_and_sees_it_with_its_follow_up(monkeypatch, warehouse):
    at = open_page(app_for(monkeypatch, warehouse, "lead"), "actions")
    no_exception(at)
    at.selectbox(key="add_action_group").set_value("g11")
    at.text_input(key="add_action_what").input("Coach sits in on two sessions")
    at.multiselect(key="add_action_indicators").set_value(["psychological_safety"])
    at.text_input(key="add_action_owner").input("Sam")
    at.button(key="FormSubmitter:add_action-Add action").click().run()
    no_exception(at)
    assert [s.value for s in at.success] == ["Action #1 added."]
    listed = at.dataframe[0].value
    assert listed[["what", "owner", "status"]].to_dict("records") == [
        {"what": "Coach sits in on two sessions", "owner": "Sam", "status": "Planned"}]
    (expander,) = at.expander
    assert expander.label.startswith("Follow-up of #1 (") and expander.label.endswith(", planned)")
    at.selectbox(key="update_action_status").set_value("doing")
    at.button(key="FormSubmitter:update_action-Save").click().run()
    no_exception(at)
    assert at.dataframe[0].value["status"].tolist() == ["Under way"]


def test_the_council_sees_counts_only(monkeypatch, warehouse):
    with state(warehouse) as con:
        store.add_action(con, local_viewer("lead"), quarter="2026Q3", group_id="g11",
                         what="Secret plan for g11", indicators=["belonging"],
                         theme="How members feel", status="doing")
    at = open_page(app_for(monkeypatch, warehouse, "council"), "actions")
    no_exception(at)
    shown = at.dataframe[0].value
    assert shown.to_dict("records") == [{"theme": "How members feel", "Under way": 1}]
    everything = " ".join(str(e.value) for e in [*at.text, *at.markdown, *at.caption])
    assert "Secret plan" not in everything and "Secret plan" not in shown.to_string()
    assert not at.main.get("form")  # no action form (the sidebar's filter form is every page's)


def test_the_review_shows_carry_over_going_well_and_sign_off(monkeypatch, warehouse):
    with state(warehouse) as con:
        store.add_action(con, local_viewer("lead"), quarter="2026Q2", group_id="g11",
                         what="Coach sits in", indicators=["psychological_safety"],
                         theme="How members feel", status="doing")
    at = open_page(app_for(monkeypatch, warehouse, "lead"), "review")
    no_exception(at)
    subheaders = [s.value for s in at.subheader]
    assert {"Actions", "Going well", "Sign-off"} <= set(subheaders)
    assert any("1 action open from 2026Q2" in i.value for i in at.info)
    at.button(key="signoff_button").click().run()
    no_exception(at)
    assert any("signed off" in s.value for s in at.success)
    assert any("was signed off by local" in t.value for t in at.text)
