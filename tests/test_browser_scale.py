"""The lead's and the council's pages at 200 and 2,000 groups, in a real headless Chromium
(issue 14): the top of Compare shows the groups that need attention, a group found by search
opens in two actions, and no table or chart makes the page taller than about two screens.

The synthetic programs are built with `hearth synth` and ingested once, then kept in a cache
folder keyed by the code that builds a warehouse (pipelines/, metrics/, hearth/): at 2,000
groups the build takes minutes, and a rerun of the suite with the same code reuses it.
Screenshots of the review and Compare at 20 (the sample), 200 and 2,000 groups land in
tests/artifacts/.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from hearth.warehouse import published_path
from tests.test_browser import CHART_PAGES, screenshot

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREEN = 1000          # the test browser's viewport height, px
TWO_SCREENS = 2 * SCREEN + 100


READ_ONLY = {"metrics/api.py", "metrics/going_well.py"}  # read a warehouse, never shape it


def _code_fingerprint() -> str:
    """A hash of every source file that decides what a warehouse holds."""
    digest = hashlib.sha256()
    for folder in ("pipelines", "metrics", "hearth"):
        for path in sorted((ROOT / folder).rglob("*")):
            if str(path.relative_to(ROOT)) in READ_ONLY:
                continue
            if path.suffix in (".py", ".sql") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_program(groups: int, cache: Path) -> Path:
    """A warehouse of ``groups`` synthetic groups (about 10 members each, three quarters),
    built once per code version under ``cache``; returns the warehouse's path."""
    from hearth.config import load_config
    from hearth.orchestrate import ingest
    from pipelines.synth import synthesize

    folder = cache / f"program-{groups}-{_code_fingerprint()}"
    db = folder / "hearth.duckdb"
    if (folder / "complete").exists():
        return db
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "hearth.toml").write_text('[program]\nname = "Synthetic program"\n',
                                        encoding="utf-8")
    synthesize(folder / "data", members=groups * 10, groups=groups, quarters=3, seed=14)
    summaries = ingest([folder / "data"], db=db, config=load_config(folder / "hearth.toml"))
    assert not [s.error for s in summaries if s.error]
    (folder / "complete").write_text("", encoding="utf-8")
    return db


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """``programs(groups)``: the cached warehouse of that size (built on first use)."""
    cache = Path(os.environ.get("HEARTH_TEST_CACHE")
                 or tmp_path_factory.getbasetemp().parent / "hearth-scale-programs")
    built: dict[int, Path] = {}

    def program(groups: int) -> Path:
        if groups not in built:
            built[groups] = build_program(groups, cache)
        return built[groups]

    return program


@pytest.fixture(scope="module")
def dashboards(programs, serve):
    """``dashboards(groups, audience)``: `hearth dashboard` on that program, shared by the
    module's tests."""
    import contextlib

    with contextlib.ExitStack() as stack:
        servers = {}

        def serving(groups: int, audience: str = "lead"):
            if (groups, audience) not in servers:
                db = programs(groups)
                servers[groups, audience] = stack.enter_context(
                    serve(db, audience, config=db.parent / "hearth.toml"))
            return servers[groups, audience]

        yield serving


SCALE_TIMEOUT = 300_000  # ms: a cold page at 2,000 groups on a loaded 2-core machine


def expect():
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=SCALE_TIMEOUT)
    return playwright_expect


def open_and_settle(page, url: str, title: str) -> None:
    """tests.test_browser.open_and_settle with this module's longer timeout."""
    page.goto(url)
    check = expect()
    check(page.get_by_role("heading", level=1).filter(has_text=title).first).to_be_visible()
    check(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    if title in CHART_PAGES:
        check(page.locator(".js-plotly-plot").first).to_be_visible()


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


def test_the_top_of_compare_shows_the_groups_that_need_attention(page, dashboards, programs):
    served = dashboards(2000)
    open_and_settle(page, f"{served.url}/compare", "Compare groups")
    check = expect()
    check(page.get_by_role("heading", name="Needs attention first")).to_be_visible()
    rows = heatmap_rows(page)
    assert len(rows) == 40, "the heatmap shows one page of 40 groups"
    marked = [r for r in rows if r.startswith(("⚑", "◆"))]
    assert rows[:len(marked)] == marked, "the marked groups (flagged, outside) come first"
    assert rows[0].startswith("⚑"), rows[0]
    flagged = flagged_names(programs(2000))
    assert rows[0].lstrip("⚑◆ ") in flagged
    check(page.get_by_text("Groups 1–40 of 2,000")).to_be_visible()
    page.get_by_role("button", name="Next 40").click()
    check(page.get_by_text("Groups 41–80 of 2,000")).to_be_visible()


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


@pytest.mark.parametrize("path,title", [("compare", "Compare groups"),
                                        ("", "Quarterly review")])
def test_no_table_or_chart_is_taller_than_two_screens(page, dashboards, path, title):
    served = dashboards(2000)
    open_and_settle(page, f"{served.url}/{path}", title)
    tall = []
    for kind in ("stDataFrame", "stPlotlyChart", "stText", "stMarkdown"):
        for element in page.get_by_test_id(kind).all():
            box = element.bounding_box()
            if box and box["height"] > TWO_SCREENS:
                tall.append((kind, int(box["height"])))
    assert tall == []


@pytest.mark.parametrize("groups", [20, 200, 2000])
def test_screenshots_at_each_size(page, dashboards, sample_dashboard_20, artifacts, groups):
    served = sample_dashboard_20 if groups == 20 else dashboards(groups)
    for path, title, name in (("", "Quarterly review", "review"),
                              ("compare", "Compare groups", "compare")):
        open_and_settle(page, f"{served.url}/{path}", title)
        screenshot(page, artifacts / f"scale-{groups}-{name}.png")
        expect()(page.get_by_test_id("stException")).to_have_count(0)


@pytest.fixture(scope="module")
def sample_dashboard_20(sample_warehouse, serve):
    """The bundled sample (20 groups) as the lead sees it."""
    with serve(sample_warehouse, "lead") as served:
        yield served
