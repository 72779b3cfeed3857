"""Sign-in for real: a local OpenID Connect provider (oidc-provider-mock, conftest's
`provider`), the dashboard in sign-in mode, and a headless Chromium signing in as each kind of
person.

For each person: what they see, and what they cannot reach, page by page and by typing the URL.
One sign-in per person (a few seconds each); everything else reuses that browser context.
Everything is on `localhost` (a redirect to 127.0.0.1 would come back signed out).
"""

from __future__ import annotations

import re

import pytest
from conftest import COACH_GROUPS, PEOPLE, auth_secrets, free_port, sample_members_by_group
from test_browser import expect, open_and_settle

pytestmark = pytest.mark.browser

LANDING = {"lead": "Quarterly review", "council": "Compare groups",
           "coach_a": "Struggling groups", "coach_b": "Struggling groups"}
NO_ACCESS = "You don't have access to Hearth yet"


@pytest.fixture(scope="module")
def signed_in_dashboard(provider, sample_warehouse, access_config, serve, tmp_path_factory):
    """One `hearth dashboard` in sign-in mode for everyone, roles from access_config."""
    port = free_port()
    path = auth_secrets(tmp_path_factory.mktemp("secrets"), provider, port)
    with serve(sample_warehouse, None, config=access_config, secrets=path, port=port) as served:
        yield served


def sign_in(browser, url: str, person: str):
    """A new browser context signed in as ``person`` on the provider's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    check = expect()
    check(page.get_by_role("heading", level=1)).to_contain_text("Hearth")
    page.get_by_role("button", name="Sign in").click()
    page.locator('input[name="sub"]').fill(PEOPLE[person]["sub"])  # the form has no labels
    page.get_by_role("button", name="Authorize").click()
    check(page).to_have_url(re.compile(rf"^{re.escape(url)}/?"))
    return context, page


def names(groups) -> re.Pattern:
    """A pattern matching any member name of the given sample groups (and of no other)."""
    by_group = sample_members_by_group()
    chosen = set().union(*(by_group[g] for g in groups))
    others = set().union(*(n for g, n in by_group.items() if g not in groups))
    only = sorted(chosen - others)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in only) + r")\b")


def cannot_open(page, url: str, title: str) -> None:
    """Typing the URL of a page the role may not see does not show it."""
    page.goto(url)
    check = expect()
    check(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    check(page.get_by_role("heading", level=1).first).to_be_visible()
    check(page.get_by_role("heading", level=1).filter(has_text=title)).to_have_count(0)
    check(page.get_by_test_id("stFileUploader")).to_have_count(0)


def test_the_lead_sees_everything_and_uploads(browser, signed_in_dashboard, artifacts):
    url = signed_in_dashboard.url
    context, page = sign_in(browser, url, "lead")
    open_and_settle(page, url, "Quarterly review")
    expect()(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as Lena Lead")
    open_and_settle(page, f"{url}/data", "Data")
    expect()(page.get_by_test_id("stFileUploader")).to_be_visible()
    page.screenshot(path=artifacts / "signed-in-lead-data.png")
    context.close()


def test_the_council_sees_the_review_and_comparisons_but_no_member(browser, signed_in_dashboard,
                                                                  artifacts):
    url = signed_in_dashboard.url
    everyone = names(set(sample_members_by_group()))
    context, page = sign_in(browser, url, "council")
    for path, title in (("", "Compare groups"), ("review", "Quarterly review")):
        open_and_settle(page, f"{url}/{path}", title)
        expect()(page.locator("body")).not_to_have_text(everyone)
    page.screenshot(path=artifacts / "signed-in-council-review.png")
    cannot_open(page, f"{url}/coach", "Struggling groups")
    cannot_open(page, f"{url}/data", "Data")
    expect()(page.locator("body")).not_to_have_text(everyone)
    context.close()


@pytest.mark.parametrize(("person", "other"), [("coach_a", "coach_b"), ("coach_b", "coach_a")])
def test_a_coach_sees_only_their_own_groups_members(browser, signed_in_dashboard, artifacts,
                                                    person, other):
    url = signed_in_dashboard.url
    theirs = names(COACH_GROUPS[other])
    context, page = sign_in(browser, url, person)
    open_and_settle(page, url, "Struggling groups")
    expect()(page.get_by_text("Members showing withdrawal signals")).to_be_visible()
    expect()(page.locator("body")).not_to_have_text(theirs)
    page.screenshot(path=artifacts / f"signed-in-{person}.png")
    cannot_open(page, f"{url}/review", "Quarterly review")
    cannot_open(page, f"{url}/data", "Data")
    context.close()


def test_someone_without_a_role_sees_only_whom_to_ask(browser, signed_in_dashboard):
    url = signed_in_dashboard.url
    context, page = sign_in(browser, url, "unknown")
    check = expect()
    for path in ("", "review", "coach", "data"):
        page.goto(f"{url}/{path}")
        check(page.get_by_role("heading", level=1)).to_have_text(NO_ACCESS)
        check(page.get_by_text("ask Lena Lead (lead@example.org)")).to_be_visible()
        check(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    context.close()
