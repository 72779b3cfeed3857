"""The coach's page and the comments at scale, in a real headless Chromium (issue 14).

A synthetic program of 2,000 groups (358 coaches), built once with `hearth synth` and `hearth
ingest` (conftest.synthetic_program), and a 200-group one for its screenshot. Checks:
a signed-in coach lands on their own groups first and sees no other group by name; a clicked
flag row opens that group's drill-down; comments are grouped with their counts and paged; no
table or list on the page is taller than a screen; screenshots at 20, 200 and 2,000 groups.
Every test at 200 or 2,000 groups is marked slow: `make test` leaves it out, CI runs it
(`make test-slow`).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest
from conftest import PEOPLE, auth_secrets, free_port
from test_browser import open_and_settle
from test_browser_sign_in import sign_in

from dashboard import coach_day, comments
from hearth.warehouse import published_path
from metrics import api
from metrics.presentation import comment_key

pytestmark = pytest.mark.browser

TIMEOUT = 240_000  # ms: the first run of a page over 2,000 groups computes and caches its data
SCREEN = 1000  # px: the test browser's window height


def expect():
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=TIMEOUT)
    return playwright_expect


@pytest.fixture(scope="module")
def program_2000(synthetic_program) -> Path:
    return synthetic_program(2000)


def latest_flags(db: Path) -> tuple[str, object]:
    """The quarter the coach page opens on and its flags in the flags table's order."""
    with duckdb.connect(str(published_path(db, "coach")), read_only=True) as con:
        quarter = api.latest_quarter(con)
        flags = api.flags(con, quarter)
        groups = api.groups(con)[["group_id", "name", "coach"]]
    flags = flags.merge(groups.rename(columns={"name": "group_name"}), on="group_id")
    flags = coach_day.flag_rows(flags)
    flags = flags[(flags["state"] != "resolved") & (flags["flag"] != "cant_tell_yet")]
    return quarter, coach_day.sort_flags(flags)


def open_page(page, url: str, title: str) -> None:
    open_and_settle(page, url, title, TIMEOUT)


def screenshot(page, path: Path) -> None:
    """The whole page (test_browser.screenshot's way), given the time a loaded machine needs
    to paint a page this tall."""
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 12000)})
    page.screenshot(path=path, timeout=TIMEOUT)
    page.set_viewport_size({"width": 1400, "height": SCREEN})


def settled(page) -> None:
    expect()(page.get_by_test_id("stStatusWidget")).to_have_count(0)


def tallest_lists(page) -> list[tuple[str, float]]:
    """Every table and text block on the page taller than a screen: (kind, height)."""
    out = []
    for kind in ("stDataFrame", "stText", "stMarkdown"):
        for element in page.get_by_test_id(kind).all():
            box = element.bounding_box()
            if box and box["height"] > SCREEN:
                out.append((kind, box["height"]))
    return out


@pytest.mark.slow  # 2,000 synthetic groups built and served: CI runs it after make test
def test_a_signed_in_coach_sees_their_own_groups_first(browser, provider, program_2000,  # noqa: F811
                                                       serve, tmp_path, artifacts):
    _, flags = latest_flags(program_2000)
    coach = str(flags["coach"].iat[0])  # a coach with a flagged group
    with duckdb.connect(str(published_path(program_2000, "coach")), read_only=True) as con:
        groups = api.groups(con)
    own = groups[groups["coach"] == coach]
    others = flags[flags["coach"] != coach]
    # Group names repeat across 2,000 groups: look for another coach's flagged group whose
    # name no group of this coach shares.
    stranger = next(n for n in others["group_name"] if n not in set(own["name"]))
    config = tmp_path / "hearth.toml"
    config.write_text(f"""[access]
leads = ["lead@example.org"]
coaches = ["{PEOPLE['coach_a']['email']}"]

[access.coach_names]
"{PEOPLE['coach_a']['email']}" = "{coach}"
""", encoding="utf-8")
    port = free_port()
    auth = auth_secrets(tmp_path, provider, port)
    with serve(program_2000, None, config=config, secrets=auth, port=port) as served:
        context, page = sign_in(browser, served.url, "coach_a")
        open_page(page, served.url, "Struggling groups")
        check = expect()
        check(page.get_by_role("heading", name="Your groups")).to_be_visible()
        check(page.get_by_text(re.compile(rf"^{len(own)} groups?: \d+ flagged"))).to_be_visible()
        check(page.get_by_text(re.compile(r"^Across the other 1,9\d\d groups: "))).to_be_visible()
        # The drill-down opens on this coach's most worrying group, flagged (⚑).
        check(page.locator(".st-key-drilldown_group input")).to_have_value(re.compile("⚑"))
        check(page.locator(".js-plotly-plot").first).to_be_visible()
        screenshot(page, artifacts / "coach-signed-in-2000-groups.png")
        check(page.locator("body")).not_to_have_text(re.compile(re.escape(stranger)))
        assert tallest_lists(page) == []
        context.close()


@pytest.mark.slow  # 2,000 synthetic groups built and served: CI runs it after make test
def test_a_flag_row_opens_its_group(page, program_2000, shared_dashboard, artifacts):
    _, flags = latest_flags(program_2000)
    # The first row whose group is not the one the drill-down opens on anyway.
    row = next(i for i in range(len(flags)) if flags["group_id"].iat[i] != flags["group_id"].iat[0])
    wanted = str(flags["group_name"].iat[row])
    served = shared_dashboard(program_2000, "coach", config=program_2000.parent / "hearth.toml")
    open_page(page, served.url, "Struggling groups")
    check = expect()
    table = page.get_by_test_id("stDataFrame").first
    check(table).to_be_visible()
    drill = page.locator(".st-key-drilldown_group input")  # the chosen group's name
    check(drill).not_to_have_value(re.compile(re.escape(wanted)))
    assert row < coach_day.ROWS_SHOWN, "the row should be above the table's fold"
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    # The row's selection box, left of the first column, in the middle of the row.
    page.mouse.click(box["x"] + 14, box["y"] + coach_day.HEADER_ROW
                     + (row + 0.5) * coach_day.REASON_ROW)
    settled(page)
    check(drill).to_have_value(re.compile(re.escape(wanted)))
    screenshot(page, artifacts / "coach-flag-row-opened-2000-groups.png")
    expect()(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.slow  # 2,000 synthetic groups built and served: CI runs it after make test
def test_comments_are_grouped_with_counts_and_paged(page, program_2000, shared_dashboard,
                                                     tmp_path):
    with duckdb.connect(str(published_path(program_2000, "lead")), read_only=True) as con:
        quarter = api.latest_quarter(con)
        said = api.comments(con, quarter)
    table = comments.grouped(said["comment"])
    assert len(table) > comments.PAGE_SIZE, "the program should have several pages of comments"
    served = shared_dashboard(program_2000, "lead", config=program_2000.parent / "hearth.toml")
    open_page(page, f"{served.url}/compare", "Compare groups")
    check = expect()
    heading = page.get_by_role("heading", name="What members said")
    heading.scroll_into_view_if_needed()
    first = (f"comments 1–{comments.PAGE_SIZE} of {len(table):,} different comments "
             f"({len(said):,} written in all)")
    check(page.get_by_text(first)).to_be_visible()
    # The next page, with the pager's + button.
    pager = page.get_by_test_id("stNumberInput").filter(has_text="Page (of")
    pager.get_by_test_id("stNumberInputStepUp").click()
    check(page.get_by_text(re.compile(
        rf"comments {comments.PAGE_SIZE + 1}–\d+ of {len(table):,} different"))).to_be_visible()
    # Its download holds every distinct comment once, with how often it was written.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download data (CSV)").last.click()
    saved = tmp_path / "comments.csv"
    download.value.save_as(saved)
    with saved.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert sum(int(r["count"]) for r in rows) == len(said)
    assert len({comment_key(r["comment"]) for r in rows}) == len(rows) == len(table)
    # A search narrows the list (case and punctuation ignored).
    page.get_by_label("Search the comments").fill("CHECK-IN")
    page.get_by_label("Search the comments").press("Enter")
    hits = comments.matching(table, "check-in")
    check(page.get_by_text(re.compile(rf"of {len(hits):,} different comments"))).to_be_visible()
    expect()(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.parametrize("groups", [  # the synthetic programs only in CI's slow run
    20, pytest.param(200, marks=pytest.mark.slow), pytest.param(2000, marks=pytest.mark.slow)])
def test_the_coach_page_stays_within_two_screens_per_list(page, shared_dashboard, request,
                                                          artifacts, groups):
    db = request.getfixturevalue("sample_warehouse") if groups == 20 else \
        request.getfixturevalue("synthetic_program")(groups)
    config = None if groups == 20 else db.parent / "hearth.toml"  # the sample's, or its own
    served = shared_dashboard(db, "coach", config=config)
    open_page(page, served.url, "Struggling groups")
    check = expect()
    check(page.locator(".js-plotly-plot").first).to_be_visible()
    check(page.get_by_role("heading", name="Every group")).to_be_visible()
    screenshot(page, artifacts / f"coach-{groups}-groups.png")
    assert tallest_lists(page) == []
    check(page.get_by_test_id("stException")).to_have_count(0)
