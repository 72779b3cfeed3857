"""Dashboard page data at reference scale: each page's query-layer calls, against ≤ 150 ms.

Builds the reference-scale community with benchmarks/metrics.py's generator (100,000 members,
10,000 groups, a year of weekly sessions, ~10M attendance rows), refreshes the indicators,
publishes the read-only snapshot, then for every page runs the data calls the page makes,
through dashboard/queries.py exactly as the page does:
  cold - the first view after a publish (every st.cache_data entry cleared first);
  warm - the same view again (served from the cache, as for every later visitor);
each the median of 5 runs.
The slowest page is printed last. With --pages, each page script is also run end to end with
Streamlit's AppTest (data + figures + rendering), for context.

    .venv/bin/python benchmarks/dashboard.py [--groups 10000] [--members 100000] [--pages]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import streamlit as st  # noqa: E402

from dashboard import queries  # noqa: E402
from dashboard.labels import HEATMAP_INDICATORS, MAX_GROUPS_SHOWN  # noqa: E402
from dashboard.queries import Filters, Snapshot  # noqa: E402
from hearth.config import Config  # noqa: E402
from hearth.warehouse import connect, publish  # noqa: E402
from metrics.refresh import refresh  # noqa: E402

TARGET_MS = 150.0

# Outside `streamlit run` every cached call warns that there is no runtime: say it once, here.
for _name in list(logging.root.manager.loggerDict):
    if _name.startswith("streamlit"):
        logging.getLogger(_name).setLevel(logging.ERROR)


def _reference_generator():
    """benchmarks/metrics.py's generate(con, groups, members): one reference community for all
    benchmarks (loaded by path: benchmarks/ is not a package and `metrics` names ours)."""
    spec = importlib.util.spec_from_file_location("bench_metrics", ROOT / "benchmarks" / "metrics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def build(folder: Path, groups: int, members: int) -> Path:
    db = folder / "hearth.duckdb"
    con = connect(db)
    started = time.perf_counter()
    sizes = _reference_generator()(con, groups, members)
    print(f"generated in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    started = time.perf_counter()
    refresh(con, Config())
    publish(con, db)
    con.close()
    print(f"refreshed and published in {time.perf_counter() - started:.1f} s")
    return db


# Each page's data calls, in the order the page makes them (see dashboard/app_pages/).

def frame_calls(snap: Snapshot, filters: Filters) -> tuple[str, tuple[str, ...] | None]:
    """app.py + frame.sidebar_filters: what every filtered page does first."""
    queries.is_empty(snap)
    listed = queries.quarters(snap)
    queries.filter_options(snap)
    quarter = filters.quarter or listed[-1]
    return quarter, queries.selected_group_ids(snap, filters._replace(quarter=quarter))


def review_page(snap: Snapshot, filters: Filters, config: Config) -> None:
    quarter, group_ids = frame_calls(snap, filters)
    queries.previous_quarter(snap, quarter)
    queries.scope_label(snap, group_ids)
    queries.scope_indicators(snap, quarter, group_ids, config)
    queries.movement_counts(snap, quarter, group_ids)
    queries.reliability_warnings(snap, quarter)
    queries.scope_trends(snap, group_ids, config, until=quarter)
    queries.participation_funnel(snap, quarter)
    queries.retention_curve(snap)
    queries.inclusion(snap, quarter)


def compare_page(snap: Snapshot, filters: Filters, config: Config) -> None:
    quarter, group_ids = frame_calls(snap, filters)
    queries.group_names(snap)
    queries.heatmap_rows(snap, quarter, group_ids, tuple(HEATMAP_INDICATORS), MAX_GROUPS_SHOWN)
    queries.group_medians(snap, quarter)
    available = queries.comparable_indicators(snap, quarter)
    indicator = "attendance_rate" if "attendance_rate" in available else available[0]
    queries.funnel_points(snap, quarter, indicator, group_ids)
    queries.shrunken(snap, quarter, indicator, group_ids)
    queries.comments(snap, quarter)


def coach_page(snap: Snapshot, filters: Filters, config: Config) -> None:
    quarter, group_ids = frame_calls(snap, filters)
    flagged = queries.flags(snap, quarter, group_ids)
    queries.groups(snap)
    queries.group_names(snap)
    group = str(flagged["group_id"].iat[0]) if not flagged.empty else \
        str(queries.groups(snap)["group_id"].iat[0])
    queries.session_attendance(snap, group, within=None)
    queries.group_indicators(snap, None, (group,))
    queries.watchlist(snap, quarter, group, within=None)


def data_page(snap: Snapshot, filters: Filters, config: Config) -> None:
    queries.is_empty(snap)
    queries.load_manifest(snap)
    queries.quarantine_summary(snap)
    queries.quarantine_rows(snap)
    queries.freshness(snap)


def method_page(snap: Snapshot, filters: Filters, config: Config) -> None:
    queries.is_empty(snap)
    queries.reliability(snap)


def timed(fn: Callable[[], None], repeats: int = 5) -> tuple[float, float]:
    """(median cold ms, median warm ms) over ``repeats`` runs each; cold clears every
    st.cache_data entry first (the published snapshot stays open, as in a running app)."""
    cold, warm = [], []
    for _ in range(repeats):
        st.cache_data.clear()
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
    for label, audience, page, state in cases:
        os.environ["HEARTH_AUDIENCE"] = audience
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
        for key, value in state.items():
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--pages", action="store_true", help="also run each page with AppTest")
    args = parser.parse_args(argv)
    config = Config()

    with tempfile.TemporaryDirectory() as tmp:
        db = build(Path(tmp), args.groups, args.members)
        started = time.perf_counter()
        snap = queries.snapshot(db)
        queries.cursor(snap).close()
        print(f"opening the published snapshot: {(time.perf_counter() - started) * 1000:.0f} ms "
              "(once per publish)")
        whole = Filters()
        options = queries.filter_options(snap)
        sliced = Filters(modality=(options["modality"][0],), language=(options["language"][0],))
        cases = [
            ("review (whole program)", review_page, whole),
            ("review (filtered slice)", review_page, sliced),
            ("compare (whole program)", compare_page, whole),
            ("compare (filtered)", compare_page, sliced),
            ("coach", coach_page, whole),
            ("data", data_page, whole),
            ("method", method_page, whole),
        ]
        print(f"\npage data at {args.groups:,} groups / {args.members:,} members "
              f"(target <= {TARGET_MS:.0f} ms):")
        results = []
        for label, page, filters in cases:
            cold, warm = timed(lambda page=page, filters=filters: page(snap, filters, config))
            results.append((cold, label))
            flag = "" if cold <= TARGET_MS else "  over target"
            print(f"  {label:28s} cold {cold:7.1f} ms   warm {warm:6.1f} ms{flag}")
        slowest_ms, slowest = max(results)
        print(f"\nslowest page: {slowest} at {slowest_ms:.1f} ms cold "
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
