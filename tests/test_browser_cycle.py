"""The review cycle in a real browser, signed in: an action decided, marked under way, and
followed up when the next quarter's data arrives; nobody else sees more than they may.

The sample is loaded up to 2026Q2 (test_review_cycle.split_sample), when Sunday Evening Circle
(g11) is flagged for low psychological safety. Here coach A (Isaac) coaches g11-g15 and coach
B (Oscar) g06-g10, by his name in the groups' coach field. Coach A adds an action to g11's flag
through the Actions page and marks it under way; 2026Q3 is then ingested through
hearth.orchestrate, as an upload would; the page shows the action's before and after with the
comparison. Coach B and the council look next.

Streamlit e2e rules: `expect`, never fixed sleeps; one "must not happen" check per scenario.
"""

from __future__ import annotations

import re

import pytest
from conftest import PEOPLE, auth_secrets, free_port, write_access_config
from test_browser import expect, open_and_settle
from test_browser_sign_in import sign_in
from test_review_cycle import load, split_sample

from hearth.access import resolve_viewer
from hearth.config import load_config
from hearth.errors import HearthError
from hearth.state import state
from metrics import followup

pytestmark = pytest.mark.browser

CYCLE_ACCESS_TOML = """
[access]
leads = ["lead@example.org"]
council = ["@council.example.org"]
coaches = ["isaac@example.org", "oscar@example.org"]
contact = "Lena Lead (lead@example.org)"

[access.coach_groups]
"isaac@example.org" = ["g11", "g12", "g13", "g14", "g15"]
"""
WHAT = "Coach sits in on two sessions and agrees ground rules"
TITLE = "Actions and follow-up"


@pytest.fixture(scope="module")
def cycle_site(provider, serve, tmp_path_factory):
    """The sample up to 2026Q2, served in sign-in mode; yields (served, folders, config)."""
    root = tmp_path_factory.mktemp("cycle_browser")
    folders = split_sample(root / "files")
    db = root / "hearth.duckdb"
    load(folders["until_q2"], db)
    config = write_access_config(root, CYCLE_ACCESS_TOML)
    port = free_port()
    secrets = auth_secrets(root, provider, port)
    with serve(db, None, config=config, secrets=secrets, port=port) as served:
        yield served, folders, config


def choose(page, form, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label` of `form` (its list opens at the
    page's top level)."""
    form.get_by_test_id("stSelectbox").filter(has_text=label).get_by_role("combobox").click()
    page.get_by_role("option", name=option, exact=True).click()


def settled(page) -> None:
    expect()(page.get_by_test_id("stStatusWidget")).to_have_count(0)


@pytest.fixture(scope="module")
def action_followed_up(browser, cycle_site, artifacts):
    """Coach A adds the action and marks it under way; then 2026Q3 arrives. Yields the page
    coach A is on and the site."""
    served, folders, config = cycle_site
    url = served.url
    check = expect()
    context, page = sign_in(browser, url, "coach_a")
    open_and_settle(page, f"{url}/actions", f"{TITLE} · 2026Q2")
    check(page.get_by_text("No actions yet.")).to_be_visible()
    add = page.get_by_test_id("stForm").filter(has_text="Add an action")
    choose(page, add, "On", "Sunday Evening Circle")
    choose(page, add, "Answering the flag", "low safety")
    add.get_by_label("What will be done").fill(WHAT)
    add.get_by_role("button", name="Add action").click()
    check(page.get_by_text("Action #1 added.")).to_be_visible()
    settled(page)
    edit = page.get_by_test_id("stForm").filter(has_text="Update an action")
    choose(page, edit, "Status", "Under way")
    edit.get_by_role("button", name="Save").click()
    check(page.get_by_text("Action #1 saved.")).to_be_visible()
    check(page.get_by_text("Follow-up of #1 (Sunday Evening Circle, under way)")).to_be_visible()
    settled(page)
    page.screenshot(path=artifacts / "cycle-coach-a-action-added.png")

    load(folders["q3"], served.db)  # the next quarter's files, through hearth.orchestrate
    yield page, cycle_site
    context.close()


def test_coach_a_sees_the_action_before_and_after_with_the_comparison(action_followed_up,
                                                                      artifacts):
    page, (served, _, _) = action_followed_up
    check = expect()
    open_and_settle(page, f"{served.url}/actions", f"{TITLE} · 2026Q3")
    page.get_by_text("Follow-up of #1 (Sunday Evening Circle, under way)").click()
    words = page.get_by_test_id("stExpander").filter(has_text="Follow-up of #1")
    check(words).to_contain_text(WHAT)
    check(words).to_contain_text(re.compile(
        r"Psychological safety: 2026Q2 \d+ \(\d+-\d+\) n=\d+ \(before\)"))
    # the verdict the refresh tested on the answers in the warehouse, as `hearth actions show`
    # words it (the snapshot holds no answers)
    check(words).to_contain_text(re.compile(
        r"2026Q3 \d+ \(\d+-\d+\) n=\d+: (clearly up|clearly down|no clear change|"
        r"a clear but small change|can't tell yet)"))
    # beside it, what comparable flagged groups without an action did (or that it can't tell)
    check(words).to_contain_text(re.compile(
        r"comparable flagged groups? without an action|cannot tell this group's change apart"))
    page.screenshot(path=artifacts / "cycle-coach-a-follow-up.png")
    check(page.get_by_test_id("stException")).to_have_count(0)


def test_coach_b_can_neither_see_nor_edit_the_action(browser, action_followed_up):
    _, (served, _, config) = action_followed_up
    check = expect()
    context, page = sign_in(browser, served.url, "coach_b")
    open_and_settle(page, f"{served.url}/actions", f"{TITLE} · 2026Q3")
    check(page.get_by_text("No actions yet.")).to_be_visible()
    check(page.get_by_test_id("stForm").filter(has_text="Update an action")).to_have_count(0)
    check(page.locator("body")).not_to_contain_text(WHAT)
    context.close()
    # nor through the library the page calls, as the same signed-in person
    coach_b = resolve_viewer(load_config(config).access, PEOPLE["coach_b"],
                             {f"g{i:02d}": "Oscar Quinn" for i in range(6, 11)})
    with state(served.db) as state_con:
        with pytest.raises(HearthError, match="no action 1"):
            followup.change_action(state_con, coach_b, 1, status="dropped")
        assert [a["status"] for a in followup.store.list_actions(
            state_con, resolve_viewer(load_config(config).access, PEOPLE["lead"]))] == ["doing"]


def test_the_council_sees_the_action_only_in_the_summary(browser, action_followed_up,
                                                        artifacts):
    _, (served, _, _) = action_followed_up
    check = expect()
    context, page = sign_in(browser, served.url, "council")
    open_and_settle(page, f"{served.url}/actions", f"{TITLE} · 2026Q3")
    check(page.get_by_text("1 action decided so far: 0 planned, 1 under way, 0 done, "
                           "0 dropped.")).to_be_visible()
    # no action form on the page (the sidebar's filter form is every page's)
    check(page.get_by_test_id("stMain").get_by_test_id("stForm")).to_have_count(0)
    page.screenshot(path=artifacts / "cycle-council-summary.png")
    check(page.locator("body")).not_to_contain_text(re.compile(
        rf"{re.escape(WHAT)}|Follow-up of|isaac@example\.org"))
    context.close()
