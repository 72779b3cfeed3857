"""The lead's and the council's pages at 200 and 2,000 groups, in a real headless Chromium
(issue 14): the top of Compare shows the groups that need attention, a group found by search
opens in two actions, and no table or chart makes the page taller than about two screens.

The synthetic programs come from conftest's `synthetic_program` (built once, cached by code
version).
Screenshots of the review and Compare at 20 (the sample), 200 and 2,000 groups land in
tests/artifacts/.
Every test at 200 or 2,000 groups is marked slow: `make test` leaves it out, CI runs it
(`make test-slow`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from hearth.warehouse import published_path
from tests.test_browser import open_and_settle as settle
from tests.test_browser import screenshot

pytestmark = pytest.mark.browser

SCREEN = 1000          # the test browser's viewport height, px
TWO_SCREENS = 2 * SCREEN + 100


@pytest.fixture(scope="module")
def dashboards(synthetic_program, shared_dashboard):
    """``dashboards(groups, audience)``: `hearth dashboard` on that program with its own
    hearth.toml, shared with every browser module (conftest's `shared_dashboard`)."""
    def serving(groups: int, audience: str = "lead"):
        db = synthetic_program(groups)
        return shared_dashboard(db, audience, config=db.parent / "hearth.toml")

    return serving


SCALE_TIMEOUT = 300_000  # ms: a cold page at 2,000 groups on a loaded 2-core machine


def expect():
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=SCALE_TIMEOUT)
    return playwright_expect


def open_and_settle(page, url: str, title: str) -> None:
    settle(page, url, title, SCALE_TIMEOUT)


def heatmap_rows(page) -> list[str]:
    """The heatmap's row labels, top first (Plotly keeps the figure's data on its div)."""
    chart = page.locator(".js-plotly-plot").first
    return chart.evaluate("gd => gd.data[0].y")


def flagged_names(db: Path) -> set[str]:
    with duckdb.connect(str(published_path(db, "lead")), read_only=True) as con:
        rows = con.execute(
            "SELECT DISTINCT g.name FROM marts.flags f JOIN marts.groups g USING (group_id) "
            "WHERE f.quarter = (SELECT max(quarter) FROM marts.flags) "
            "AND f.flag <> 'cant_tell_yet' AND f.state <> 'resolved'").fetchall()
    return {n for (n,) in rows}


@pytest.mark.slow  # 2,000 synthetic groups built and served: CI runs it after make test
def test_the_top_of_compare_shows_the_groups_that_need_attention(page, dashboards, synthetic_program):
    served = dashboards(2000)
    open_and_settle(page, f"{served.url}/compare", "Compare groups")
    check = expect()
    check(page.get_by_role("heading", name="Needs attention first")).to_be_visible()
    rows = heatmap_rows(page)
    assert len(rows) == 40, "the heatmap shows one page of 40 groups"
    marked = [r for r in rows if r.startswith(("⚑", "◆"))]
    assert rows[:len(marked)] == marked, "the marked groups (flagged, outside) come first"
    assert rows[0].startswith("⚑"), rows[0]
    flagged = flagged_names(synthetic_program(2000))
    assert rows[0].lstrip("⚑◆ ") in flagged
    check(page.get_by_text("Groups 1–40 of 2,000")).to_be_visible()
    page.get_by_role("button", name="Next 40").click()
    check(page.get_by_text("Groups 41–80 of 2,000")).to_be_visible()


@pytest.mark.slow  # 2,000 synthetic groups built and served: CI runs it after make test
def test_a_group_found_by_search_opens_in_two_actions(page, dashboards):
    served = dashboards(2000)
    open_and_settle(page, f"{served.url}/compare", "Compare groups")
    rows = heatmap_rows(page)
    wanted = rows[-1].lstrip("⚑◆ ")  # a group from further down the page
    check = expect()
    # 1: type part of its name in "Find a group"; 2: pick it from what matches.
    page.get_by_role("combobox", name="Find a group").fill(wanted)
    page.get_by_role("option", name=wanted, exact=True).click()
    check(page.get_by_role("heading", name=f"▶ {wanted}")).to_be_visible()
    check(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    funnel = page.locator(".js-plotly-plot").nth(1)
    check(funnel).to_be_visible()
    names = funnel.evaluate("gd => gd.data.map(t => t.name)")
    assert wanted in names, "the opened group is marked in the funnel plot"
    check(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.slow  # 2,000 synthetic groups built and served: CI runs it after make test
@pytest.mark.parametrize("path,title", [("compare", "Compare groups"),
                                        ("", "Quarterly review")])
def test_no_table_or_chart_is_taller_than_two_screens(page, dashboards, path, title):
    served = dashboards(2000)
    open_and_settle(page, f"{served.url}/{path}", title)
    if title == "Quarterly review":  # it draws no chart until a section is picked: the trends
        page.get_by_role("radio", name="Trends").or_(
            page.get_by_role("button", name="Trends", exact=True)).first.click()
        check = expect()
        check(page.get_by_role("heading", name="Trends over the quarters")).to_be_visible()
        check(page.get_by_test_id("stStatusWidget")).to_have_count(0)
        check(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    tall = []
    for kind in ("stDataFrame", "stPlotlyChart", "stText", "stMarkdown"):
        for element in page.get_by_test_id(kind).all():
            box = element.bounding_box()
            if box and box["height"] > TWO_SCREENS:
                tall.append((kind, int(box["height"])))
    assert tall == []


@pytest.mark.parametrize("groups", [  # the synthetic programs only in CI's slow run
    20, pytest.param(200, marks=pytest.mark.slow), pytest.param(2000, marks=pytest.mark.slow)])
def test_screenshots_at_each_size(page, dashboards, sample_dashboard_20, artifacts, groups):
    served = sample_dashboard_20 if groups == 20 else dashboards(groups)
    for path, title, name in (("", "Quarterly review", "review"),
                              ("compare", "Compare groups", "compare")):
        open_and_settle(page, f"{served.url}/{path}", title)
        screenshot(page, artifacts / f"scale-{groups}-{name}.png")
        expect()(page.get_by_test_id("stException")).to_have_count(0)


@pytest.fixture(scope="module")
def sample_dashboard_20(sample_dashboard):
    """The bundled sample (20 groups) as the lead sees it."""
    return sample_dashboard("lead")
