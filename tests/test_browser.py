"""The dashboard in a real headless Chromium, served by `hearth dashboard` as a user would run it.

Streamlit e2e rules: Playwright's expect (never fixed sleeps), elements found by role or label,
one "must not happen" check per scenario. Screenshots of every page land in tests/artifacts/.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from hearth.cli import main
from hearth.warehouse import AUDIENCES, published_path

pytestmark = pytest.mark.browser

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"

PAGES = {
    "lead": {"": "Quarterly review", "compare": "Compare groups", "data": "Data",
             "method": "Method"},
    "council": {"": "Compare groups", "review": "Quarterly review", "method": "Method"},
    "coach": {"": "Struggling groups", "compare": "Compare groups", "method": "Method"},
}
# pages that open with a chart drawn (the quarterly review draws none until a section is picked)
CHART_PAGES = {"Compare groups", "Struggling groups"}
# ms: the first run of a page computes and caches its data, while `make test`'s other worker
# (and, on a shared machine, other suites) use the same two cores
TIMEOUT = 120_000


def expect(timeout: int = TIMEOUT):
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=timeout)
    return playwright_expect


def open_and_settle(page, url: str, title: str, timeout: int = TIMEOUT) -> None:
    """Open a page and wait until Streamlit has finished running its script (and drawn its
    first chart, on a page with charts); ``timeout`` in ms for each wait."""
    page.goto(url)
    check = expect(timeout)
    check(page.get_by_role("heading", level=1).filter(has_text=title).first).to_be_visible()
    check(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    if title in CHART_PAGES:
        check(page.locator(".js-plotly-plot").first).to_be_visible()


@pytest.mark.parametrize("audience", ["lead", "council", "coach"])
def test_every_page_loads_without_an_exception(page, sample_dashboard, artifacts, audience):
    """Every page of each audience; the council's pages also show no member's name (one sweep
    of page loads for both checks)."""
    served = sample_dashboard(audience)
    names = re.compile("|".join(re.escape(n) for n in member_names()))
    for path, title in PAGES[audience].items():
        open_and_settle(page, f"{served.url}/{path}", title)
        screenshot(page, artifacts / f"{audience}-{path or 'home'}.png")
        expect()(page.get_by_test_id("stException")).to_have_count(0)
        if audience == "council":  # test_council_sees_no_member_names, on the same page load
            expect()(page.locator("body")).not_to_have_text(names)


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit."""
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 12000)})
    page.screenshot(path=path)
    page.set_viewport_size({"width": 1400, "height": 1000})


def member_names() -> list[str]:
    with (SAMPLE_DIR / "members.csv").open(encoding="utf-8-sig") as handle:
        return sorted({row["name"] for row in csv.DictReader(handle)})


def test_the_review_draws_the_section_picked(page, sample_dashboard, artifacts):
    """The review opens with no chart (Plotly's bundle is not even loaded), then draws one
    section at a time: the six trends, the funnel and retention, or the inclusion breakdown when
    their section is picked (a fragment rerun)."""
    served = sample_dashboard("lead")
    open_and_settle(page, served.url, "Quarterly review")
    check = expect()
    check(page.get_by_role("heading", name="Key indicators")).to_be_visible()
    charts = page.locator(".js-plotly-plot")
    check(charts).to_have_count(0)
    check(page.get_by_test_id("stPlotlyChart")).to_have_count(0)
    for section, heading, drawn in (("Trends", "Trends over the quarters", 6),
                                    ("Participation and retention", "Participation and retention",
                                     2), ("Inclusion", "Inclusion", 1)):
        page.get_by_role("radio", name=section).or_(
            page.get_by_role("button", name=section, exact=True)).first.click()
        check(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        check(page.get_by_test_id("stStatusWidget")).to_have_count(0)
        check(charts).to_have_count(drawn)
        check(charts.first.locator(".main-svg").first).to_be_visible()
        screenshot(page, artifacts / f"lead-review-{section.split()[0].lower()}.png")
    check(page.get_by_role("heading", name="Trends over the quarters")).to_have_count(0)
    check(page.get_by_test_id("stException")).to_have_count(0)


def test_quarterly_review_downloads_and_opens_offline(page, sample_dashboard, artifacts, tmp_path):
    served = sample_dashboard("lead")
    open_and_settle(page, served.url, "Quarterly review")
    button = page.get_by_role("button", name="Download the quarterly review (HTML)")
    button.scroll_into_view_if_needed()
    with page.expect_download() as download:
        button.click()
    report = tmp_path / download.value.suggested_filename
    download.value.save_as(report)
    assert report.name.startswith("hearth-review-") and report.suffix == ".html"
    page.context.set_offline(True)  # the report must need no network at all
    page.goto(report.as_uri())
    check = expect()
    check(page.get_by_role("heading", level=1)).to_contain_text("quarterly review")
    check(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    assert page.locator(".js-plotly-plot").count() >= 6
    page.screenshot(path=artifacts / "report.png", full_page=True)
    page.context.set_offline(False)


def test_ingest_while_the_dashboard_serves(page, serve, sample_warehouse, tmp_path, artifacts,
                                           capsys):
    db = tmp_path / "hearth.duckdb"
    shutil.copy(sample_warehouse, db)
    for audience in AUDIENCES:
        shutil.copy(published_path(sample_warehouse, audience), published_path(db, audience))
    extra = tmp_path / "late_checkins.csv"
    extra.write_text("member_id,buddy_id,checked_in_at,channel\n"
                     "m0001,m0002,2026-09-30T12:00:00+01:00,call\n", encoding="utf-8")
    with serve(db, "lead") as served:
        open_and_settle(page, f"{served.url}/data", "Data")  # the app holds its snapshot open
        # in process (the server is the other process); test_cli runs the installed `hearth`
        code = main(["--db", str(db), "--config", str(SAMPLE_DIR / "hearth.toml"), "ingest",
                     str(extra)])
        assert code == 0, capsys.readouterr()
        open_and_settle(page, f"{served.url}/data", "Data")
        expect()(page.get_by_text("late_checkins.csv").first).to_be_visible()
        screenshot(page, artifacts / "lead-data-after-ingest.png")
        expect()(page.get_by_test_id("stException")).to_have_count(0)


def test_tables_download_only_through_the_formula_safe_button(page, sample_dashboard, tmp_path):
    """Issue 8: the table toolbar's own "Download as CSV" wrote formulas raw; it must be gone,
    and the table's own download must be the neutralised, fully quoted CSV."""
    served = sample_dashboard("lead")
    open_and_settle(page, f"{served.url}/data", "Data")
    check = expect()
    page.get_by_test_id("stDataFrame").first.hover()
    check(page.get_by_role("button", name="Search").first).to_be_visible()  # the toolbar is up
    check(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download data (CSV)").first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8-sig").startswith('"')
