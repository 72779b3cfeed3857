"""Dashboard page data at reference scale, per audience, against 150 ms; and the privacy audit.

Builds the reference-scale community with benchmarks/metrics.py's generator (100,000 members,
10,000 groups, a year of weekly sessions, ~10M attendance rows) and publishes it the way a
program does, three times: a full refresh of all but the last two weeks, then one week more,
then the last week (each an incremental refresh with its own publication, so the release
layer settles against earlier publications as it does in use). The warehouse, its audiences'
snapshots and the attendance CSV are cached (``--cache``, default under /tmp) and reused by
the next run.

Printed:
- the refreshes and, inside them, the release layer's audit (metrics.audit.determined_hidden,
  called by metrics.release to settle each publication against all earlier ones), with the
  sizes of the largest rank test;
- `hearth privacy-check` (every publication, every audience's snapshot), end to end;
- DuckDB's bare read of the attendance file into a database file (benchmarks/ingest.py's
  baseline), the reference every page is compared with;
- for every audience (lead, council, coach: each opens its own snapshot) and every page it
  sees, the page's data calls through dashboard/queries.py exactly as the page makes them,
  unfiltered and filtered (one modality x one language): cold, the first view after a publish
  (every st.cache_data entry cleared), and warm, the same view again; each the median of 3.
  With page ÷ bare read. The slowest page is printed last.
With --pages, each page script is also run end to end with Streamlit's AppTest, for context.

    nice -n 10 .venv/bin/python benchmarks/dashboard.py [--groups 10000] [--members 100000]
        [--cache DIR] [--rebuild] [--pages]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import streamlit as st  # noqa: E402

from benchmarks.ingest import bare_read_seconds  # noqa: E402
from dashboard import queries  # noqa: E402
from dashboard.cycle import _going_well  # noqa: E402
from dashboard.labels import HEATMAP_INDICATORS, MAX_GROUPS_SHOWN  # noqa: E402
from dashboard.queries import Filters, Snapshot  # noqa: E402
from hearth.access import Viewer  # noqa: E402
from hearth.config import Config  # noqa: E402
from hearth.state import state  # noqa: E402
from hearth.warehouse import connect, publish  # noqa: E402
from metrics import audit, followup, pagedata, release, signoff  # noqa: E402
from metrics.refresh import refresh, touched_since  # noqa: E402

TARGET_MS = 150.0
HELD_BACK_WEEKS = 2



def quiet_streamlit() -> None:
    """Outside `streamlit run` every cached call warns that there is no runtime: say it once."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _bench_metrics():
    """benchmarks/metrics.py (generate, hold_back, load_week): one reference community for all
    benchmarks (loaded by path: `metrics` names our package)."""
    spec = importlib.util.spec_from_file_location("bench_metrics", ROOT / "benchmarks" / "metrics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class AuditTimer:
    """Time spent in the auditor while the release layer settles a publication, and the size
    of the largest rank test (rows x entries of one block) it solved."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.largest: tuple[int, int] = (0, 0)
        self.figures = 0

    def __enter__(self) -> AuditTimer:
        self._determined, self._space = release.determined_hidden, audit.RowSpace

        def determined(figures):
            started = time.perf_counter()
            try:
                return self._determined(figures)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1
                self.figures = max(self.figures, len(figures))

        timer = self

        class Space(self._space):
            def __init__(self, rows) -> None:
                super().__init__(rows)
                rows, entries = self.matrix_shape
                if entries > timer.largest[1]:
                    timer.largest = (rows, entries)

        release.determined_hidden, audit.RowSpace = determined, Space
        return self

    def __exit__(self, *exc) -> None:
        release.determined_hidden, audit.RowSpace = self._determined, self._space


def build(folder: Path, groups: int, members: int) -> dict:
    """Generate, publish three times (full, then a week, then a week), write attendance.csv."""
    bench = _bench_metrics()
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "hearth.duckdb"
    for leftover in folder.glob("hearth*.duckdb*"):
        leftover.unlink()
    con = connect(db)
    config = Config()
    started = time.perf_counter()
    sizes = bench.generate(con, groups, members)
    print(f"generated in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    week_days = [str(pd.Timestamp("2025-01-06") + pd.Timedelta(days=7 * w))[:10]
                 for w in range(52 - HELD_BACK_WEEKS, 52)]
    bench.hold_back(con, week_days[0])
    con.execute("CHECKPOINT")
    runs = []
    for i, day in enumerate([None, *week_days]):
        since = None
        if day is not None:
            bench.load_week(con, day, load_id=2 + i)
            since = touched_since(con, config, [2 + i])
        steps: dict[str, float] = {}
        with AuditTimer() as timer:
            started = time.perf_counter()
            refresh(con, config, steps, since=since)
            seconds = time.perf_counter() - started
        publications = con.execute("SELECT max(publication) FROM release.figures").fetchone()[0]
        runs.append({"what": "full refresh" if day is None else f"refresh after the week "
                     f"from {day} (since {since})", "seconds": seconds,
                     "slowest_steps": sorted(steps.items(), key=lambda kv: -kv[1])[:3],
                     "audit_seconds": timer.seconds, "audit_calls": timer.calls,
                     "audit_figures": timer.figures, "largest_rank_test": timer.largest,
                     "publication": publications})
    started = time.perf_counter()
    publish(con, db, finish=pagedata.finisher(config))  # as hearth.orchestrate publishes
    publish_s = time.perf_counter() - started
    con.execute(f"COPY (SELECT session_id, member_id, status, minutes FROM core.attendance) "
                f"TO '{folder / 'attendance.csv'}' (HEADER)")
    figures = con.execute("SELECT count(*) FROM release.figures").fetchone()[0]
    con.close()
    built = {"groups": groups, "members": members, "sizes": sizes, "refreshes": runs,
             "publish_seconds": publish_s, "figures_rows": figures}
    (folder / "built.json").write_text(json.dumps(built, indent=1))
    return built


def print_build(built: dict) -> None:
    print("\nrefreshes (each followed by its publication; audit = metrics.audit inside the "
          "release step, settling against earlier publications):")
    for run in built["refreshes"]:
        rows, cols = run["largest_rank_test"]
        print(f"  {run['what']}: {run['seconds']:.1f} s -> publication {run['publication']}; "
              f"audit {run['audit_seconds']:.2f} s ({run['audit_calls']} pass(es) over up to "
              f"{run['audit_figures']:,} figures; largest rank test {rows} x {cols})")
        print("    slowest steps: " + ", ".join(f"{name} {seconds:.1f} s"
                                             for name, seconds in run["slowest_steps"]))
    print(f"  publishing the three audiences' snapshots: {built['publish_seconds']:.1f} s; "
          f"release.figures holds {built['figures_rows']:,} figure rows")


def privacy_check(db: Path) -> None:
    """`hearth privacy-check --json` in process, end to end, and the auditor alone."""
    from hearth.cli import main as hearth

    started = time.perf_counter()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = hearth(["--db", str(db), "privacy-check", "--json"])
    whole = time.perf_counter() - started
    report = json.loads(out.getvalue())
    con = duckdb.connect(str(db), read_only=True)
    try:
        figures = audit.read_figures(con)
    finally:
        con.close()
    with AuditTimer() as timer:
        started = time.perf_counter()
        found = release.determined_hidden(figures)
        alone = time.perf_counter() - started
    rows, cols = timer.largest
    problems = {a: len(s["problems"]) for a, s in report["audiences"].items()}
    print(f"\n`hearth privacy-check` ({report['publications']} publications, "
          f"{report['shown_figures']:,} shown and {report['hidden_figures']:,} hidden figures, "
          f"every audience): {whole:.1f} s, exit {code}; determined hidden: "
          f"{len(report['determined_hidden'])}; snapshot problems: {problems}; community "
          f"update: {len(report['community_update']['problems'])} problem(s)")
    print(f"  the auditor alone (rank tests over every publication): {alone:.2f} s, "
          f"{len(found)} determined; largest rank test {rows} x {cols}")


# Each page's data calls, in the order the page makes them (see dashboard/app_pages/ and
# dashboard/cycle.py). `ctx` is what dashboard/frame.py gives a page.

class Page:
    def __init__(self, snap: Snapshot, db: Path, audience: str, filters: Filters,
                 config: Config) -> None:
        self.snap, self.db, self.audience, self.filters, self.config = \
            snap, db, audience, filters, config
        # a coach sees every group here: scoping to their own groups only shrinks the reads
        self.viewer = Viewer(email=None, name="Bench", role=audience, groups=None)


def frame_calls(page: Page) -> tuple[str, tuple[str, ...] | None]:
    """app.py + frame.sidebar_filters: what every filtered page does first (the group
    picker lists every group by name)."""
    snap = page.snap
    queries.is_empty(snap)
    queries.quarters(snap)
    queries.filter_options(snap)
    queries.group_names(snap)
    queries.groups_in_name_order(snap)
    quarter = page.filters.quarter or queries.default_quarter(snap)
    return quarter, queries.selected_group_ids(snap, page.filters._replace(quarter=quarter))


def going_well_and_signoff(page: Page, quarter: str, group_ids) -> None:
    """dashboard.cycle.review_sections: carried over, going well, what changed since sign-off."""
    with queries.cursor(page.snap) as con, state(page.db) as state_con:
        followup.carry_over(con, state_con, page.viewer, quarter)
    _going_well(page.snap, quarter, group_ids, page.config)  # cached, as the page calls it
    with queries.cursor(page.snap) as con, state(page.db) as state_con:
        signoff.since_signoff(con, state_con, page.config, quarter)


def review_page(page: Page) -> None:
    snap, config = page.snap, page.config
    quarter, group_ids = frame_calls(page)
    queries.previous_quarter(snap, quarter)
    queries.scope_label(snap, group_ids)
    queries.scope_indicators(snap, quarter, group_ids, config)
    queries.movement_counts(snap, quarter, group_ids)
    queries.reliability_warnings(snap, quarter)
    queries.scope_trends(snap, group_ids, config, until=quarter)
    queries.participation_funnel(snap, quarter)
    queries.retention_curve(snap)
    queries.inclusion(snap, quarter)
    going_well_and_signoff(page, quarter, group_ids)


def compare_page(page: Page) -> None:
    """dashboard/app_pages/compare.py: the attention order first (it orders the heatmap's
    first page of groups), the funnel and ranking of one indicator, the roll-up by coach
    (the page's default) and the comments."""
    snap = page.snap
    quarter, group_ids = frame_calls(page)
    queries.group_names(snap)
    attention = queries.attention(snap, quarter, group_ids)
    first_page = tuple(attention["group_id"][:MAX_GROUPS_SHOWN])
    if first_page:
        queries.group_indicators(snap, quarter, first_page, tuple(HEATMAP_INDICATORS))
    queries.group_medians(snap, quarter)
    available = queries.comparable_indicators(snap, quarter)
    indicator = "attendance_rate" if "attendance_rate" in available else available[0]
    queries.funnel_points(snap, quarter, indicator, group_ids)
    queries.shrunken(snap, quarter, indicator, group_ids)
    queries.rollup(snap, quarter, page.config, "coach", group_ids)
    if group_ids is None:
        queries.comments(snap, quarter)
    else:
        queries.selection_comments(snap, quarter, group_ids)


def coach_page(page: Page) -> None:
    snap = page.snap
    quarter, group_ids = frame_calls(page)
    flagged = queries.flags(snap, quarter, group_ids)
    queries.groups(snap)
    queries.group_names(snap)
    group = str(flagged["group_id"].iat[0]) if not flagged.empty else \
        str(queries.groups(snap)["group_id"].iat[0])
    queries.session_attendance(snap, group, within=None)
    queries.group_indicators(snap, None, (group,))
    queries.comments(snap, quarter, group)
    queries.watchlist(snap, quarter, group, within=None)


def actions_page(page: Page) -> None:
    """The council's reads counts and going well; lead and coach read the action list and its
    follow-ups (none in a fresh state store: the figures the follow-up reads are timed by the
    review's tiles) and the flags for the form."""
    quarter, group_ids = frame_calls(page)
    if page.audience == "council":
        _going_well(page.snap, quarter, group_ids, page.config)
        return
    queries.group_names(page.snap)
    queries.groups(page.snap)
    queries.flags(page.snap, quarter)
    with state(page.db) as state_con, queries.cursor(page.snap) as con:
        followup.carry_over(con, state_con, page.viewer, quarter)


def data_page(page: Page) -> None:
    snap = page.snap
    queries.is_empty(snap)
    queries.load_manifest(snap)
    queries.quarantine_summary(snap)
    queries.quarantine_rows(snap)
    queries.freshness(snap)


def method_page(page: Page) -> None:
    queries.is_empty(page.snap)
    queries.reliability(page.snap)


PAGES: dict[str, Callable[[Page], None]] = {
    "review": review_page, "compare": compare_page, "coach": coach_page,
    "actions": actions_page, "data": data_page, "method": method_page,
}
# dashboard/app.py's SECTIONS: the pages each role is routed to (Start only while empty)
AUDIENCE_PAGES = {
    "lead": ("review", "actions", "compare", "data", "method"),
    "council": ("review", "compare", "actions", "method"),
    "coach": ("coach", "actions", "compare", "method"),
}
FILTERED = {"review", "coach", "compare", "actions"}


def timed(fn: Callable[[], None], repeats: int = 3) -> tuple[float, float]:
    """(median cold ms, median warm ms) over ``repeats`` runs each; cold clears every
    st.cache_data entry first (the published snapshot stays open, as in a running app)."""
    cold, warm = [], []
    for _ in range(repeats):
        st.cache_data.clear()
        queries.forget_snapshots()  # kept per snapshot: cold after a publish too
        started = time.perf_counter()
        fn()
        cold.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - started) * 1000)
    return statistics.median(cold), statistics.median(warm)


def page_runs(db: Path, cases: list[tuple[str, str, str, dict]]) -> None:
    """Each page script end to end with AppTest (cold, then warm)."""
    from streamlit.testing.v1 import AppTest

    os.environ["HEARTH_DB"] = str(db)
    print("\nwhole page runs (AppTest: data, figures and rendering):")
    for label, audience, page, state_values in cases:
        os.environ["HEARTH_AUDIENCE"] = audience
        st.cache_data.clear()
        queries.forget_snapshots()
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
        for key, value in state_values.items():
            at.session_state[key] = value
        at.run()
        started = time.perf_counter()
        at.switch_page(f"app_pages/{page}.py").run()
        cold = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        at.run()
        warm = (time.perf_counter() - started) * 1000
        failed = " EXCEPTION" if at.exception else ""
        print(f"  {label:28s} cold {cold:8.0f} ms   warm {warm:6.0f} ms{failed}")


def pages(db: Path, bare_s: float, config: Config) -> list[tuple[float, str]]:
    quiet_streamlit()  # the cached functions' loggers exist by now
    results = []
    for audience, names in AUDIENCE_PAGES.items():
        started = time.perf_counter()
        snap = queries.snapshot(db, audience)
        with queries.cursor(snap):
            pass
        opened = (time.perf_counter() - started) * 1000
        options = queries.filter_options(snap)
        sliced = Filters(modality=(options["modality"][0],), language=(options["language"][0],))
        print(f"\n{audience} (snapshot {Path(snap.path).name}, {snap.size / 1e6:.0f} MB, "
              f"attached in {opened:.0f} ms once per publish):")
        for name in names:
            for label, filters in (("", Filters()), (" (filtered)", sliced)):
                if label and name not in FILTERED:
                    continue
                page = Page(snap, db, audience, filters, config)
                cold, warm = timed(lambda page=page, name=name: PAGES[name](page))
                results.append((cold, f"{audience}: {name}{label}"))
                flag = "" if cold <= TARGET_MS else "  OVER the target"
                print(f"  {name + label:22s} cold {cold:7.1f} ms ({cold / 1000 / bare_s:.3f} x "
                      f"bare read)   warm {warm:6.1f} ms{flag}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, help="where the built warehouse is kept "
                        "(default: /tmp/hearth-bench-dashboard-GROUPS-MEMBERS)")
    parser.add_argument("--rebuild", action="store_true", help="build again even if cached")
    parser.add_argument("--pages", action="store_true", help="also run each page with AppTest")
    args = parser.parse_args(argv)
    quiet_streamlit()
    config = Config()
    folder = args.cache or Path(f"/tmp/hearth-bench-dashboard-{args.groups}-{args.members}")
    built_file = folder / "built.json"
    if built_file.exists() and not args.rebuild:
        built = json.loads(built_file.read_text())
        print(f"reusing the warehouse built in {folder} (--rebuild to build it again)")
    else:
        built = build(folder, args.groups, args.members)
    db = folder / "hearth.duckdb"
    print_build(built)
    privacy_check(db)
    bare_s, _ = bare_read_seconds(folder / "attendance.csv", folder / "bare.duckdb")  # wall, CPU
    print(f"\nDuckDB bare read of attendance.csv ({built['sizes']['attendance']:,} rows) into a "
          f"file: {bare_s:.2f} s; target {TARGET_MS:.0f} ms = {TARGET_MS / 1000 / bare_s:.3f} x")
    print(f"\npage data at {args.groups:,} groups / {args.members:,} members, per audience "
          f"(target <= {TARGET_MS:.0f} ms cold):")
    results = pages(db, bare_s, config)
    slowest_ms, slowest = max(results)
    print(f"\nslowest page: {slowest} at {slowest_ms:.1f} ms cold = "
          f"{slowest_ms / 1000 / bare_s:.3f} x the bare read "
          f"({'within' if slowest_ms <= TARGET_MS else 'OVER'} the {TARGET_MS:.0f} ms target)")
    if args.pages:
        page_runs(db, [
            ("review", "lead", "review", {}), ("compare", "council", "compare", {}),
            ("coach", "coach", "coach", {}), ("data", "lead", "data", {}),
            ("method", "lead", "method", {}),
        ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
