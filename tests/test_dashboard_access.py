"""Sign-in mode in Streamlit's AppTest: what each role's pages show and which they cannot open.

The identity a provider would send is given by replacing frame.signed_in_claims (the one place
that reads st.user); the real OpenID round trip is in tests/test_browser_sign_in.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import COACH_GROUPS, PEOPLE, sample_members_by_group
from streamlit.testing.v1 import AppTest

from dashboard import frame, queries

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")

ROLE_PAGES = {
    "lead": {"start", "review", "coach", "compare", "data", "method"},
    "council": {"start", "review", "compare", "method"},
    "coach_a": {"start", "coach", "compare", "method"},
}
ALL_PAGES = {"start", "review", "compare", "coach", "data", "method"}


def signed_in_app(monkeypatch, db: Path, config: Path, person: str | None, **state) -> AppTest:
    monkeypatch.setenv("HEARTH_DB", str(db))
    monkeypatch.setenv("HEARTH_CONFIG", str(config))
    monkeypatch.setenv("HEARTH_AUDIENCE", "lead")  # must not matter once sign-in is configured
    monkeypatch.setattr(frame, "auth_configured", lambda: True)
    monkeypatch.setattr(frame, "auth_providers", lambda: ["default"])
    monkeypatch.setattr(frame, "signed_in_claims",
                        lambda: dict(PEOPLE[person]) if person else None)
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at


def page_text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("title", "markdown", "text", "caption", "info", "success",
                                       "warning", "error") for e in at.get(kind)]
    parts += [str(b.label) for b in at.button]
    parts += [frame_.value.to_csv() for frame_ in at.dataframe]
    parts += [str(o) for box in at.selectbox for o in box.options]
    return "\n".join(parts)


def names_pattern(names: set[str]) -> re.Pattern:
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names)) + r")\b")


def test_before_sign_in_only_the_sign_in_page_is_shown(monkeypatch, sample_warehouse,
                                                       access_config):
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, None).run()
    assert at.title[0].value == "Hearth · Hearth sample community"
    assert [b.label for b in at.button] == ["Sign in"]
    for page in ALL_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"app_pages/{page}.py")


def test_someone_without_a_role_is_told_whom_to_ask_and_nothing_else(monkeypatch,
                                                                    sample_warehouse,
                                                                    access_config):
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "unknown").run()
    assert at.title[0].value == "You don't have access to Hearth yet"
    assert "ask Lena Lead (lead@example.org)" in page_text(at)
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.dataframe and not at.get("plotly_chart") and not at.sidebar.children
    for page in ALL_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"app_pages/{page}.py")


@pytest.mark.parametrize("person", sorted(ROLE_PAGES))
def test_each_role_reaches_only_its_pages(monkeypatch, sample_warehouse, access_config, person):
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, person).run()
    assert [e.value for e in at.exception] == []
    assert f"Signed in as {PEOPLE[person]['name']}" in [t.value for t in at.sidebar.text]
    for hidden in sorted(ALL_PAGES - ROLE_PAGES[person]):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"app_pages/{hidden}.py")


def test_the_council_opens_the_quarterly_review_with_no_member_name(monkeypatch,
                                                                   sample_warehouse,
                                                                   access_config):
    members = set().union(*sample_members_by_group().values())
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "council").run()
    at.switch_page("app_pages/review.py").run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value.startswith("Quarterly review")
    assert not names_pattern(members).search(page_text(at))


def test_coach_a_sees_only_their_own_groups_and_members(monkeypatch, sample_warehouse,
                                                        access_config):
    by_group = sample_members_by_group()
    own = COACH_GROUPS["coach_a"]
    others = set().union(*(n for g, n in by_group.items() if g not in own)) - \
        set().union(*(by_group[g] for g in own))
    snap = queries.snapshot(sample_warehouse)
    names = queries.group_names(snap)
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "coach_a").run()
    assert at.title[0].value.startswith("Struggling groups")
    shown = {o.removesuffix("  ⚑") for o in at.selectbox(key="drilldown_group").options}
    assert shown == {names[g] for g in own}
    assert set(at.dataframe[0].value["group_name"]) <= {names[g] for g in own}
    mine = names_pattern(set().union(*(by_group[g] for g in own)))
    shown_mine = False
    for group in sorted(own):  # every own group's drill-down, watchlist included
        at.selectbox(key="drilldown_group").set_value(group)
        at.run()
        assert [e.value for e in at.exception] == []
        assert not names_pattern(others).search(page_text(at)), group
        shown_mine |= bool(mine.search(page_text(at)))
    assert shown_mine, "the watchlist should name at least one member of the coach's groups"


def test_coach_b_matched_by_signed_in_name_sees_only_their_groups(monkeypatch, sample_warehouse,
                                                                  access_config):
    names = queries.group_names(queries.snapshot(sample_warehouse))
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "coach_b").run()
    shown = {o.removesuffix("  ⚑") for o in at.selectbox(key="drilldown_group").options}
    assert shown == {names[g] for g in COACH_GROUPS["coach_b"]}


def test_a_coach_cannot_have_another_coachs_group_drilled_into(monkeypatch, sample_warehouse,
                                                               access_config):
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "coach_a",
                       drilldown_group="g06").run()  # e.g. state carried over or forged
    assert at.selectbox(key="drilldown_group").value in COACH_GROUPS["coach_a"]


def test_member_level_reads_refuse_groups_outside_the_viewers(sample_warehouse):
    snap = queries.snapshot(sample_warehouse)
    quarter = queries.default_quarter(snap)
    with pytest.raises(queries.NotYourGroup, match="group g06: its members are shown only"):
        queries.watchlist(snap, quarter, "g06", within=frozenset(COACH_GROUPS["coach_a"]))
    with pytest.raises(queries.NotYourGroup):
        queries.session_attendance(snap, "g06", within=frozenset())
    assert not queries.session_attendance(snap, "g01", within=frozenset({"g01"})).empty


def test_only_the_lead_sees_the_upload_form(monkeypatch, sample_warehouse, access_config):
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "lead").run()
    at.switch_page("app_pages/data.py").run()
    assert at.get("file_uploader")
