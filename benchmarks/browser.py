"""Page switch and filter change times in headless Chromium (issue 11: ≤ 1 s per switch or
filter change, first page ≤ 3 s), on a warehouse of any size.

    .venv/bin/python benchmarks/browser.py --db /path/to/hearth.duckdb [--config hearth.toml]
    .venv/bin/python benchmarks/browser.py --groups 2000      # build one with `hearth synth`
    .venv/bin/python benchmarks/browser.py --groups 2000 --keep /tmp/hearth-browser-2000

It serves the warehouse with `hearth dashboard` (as a user runs it), opens it in Debian's
Chromium through Playwright, and times from the click to the moment Streamlit has finished the
rerun (the app root's data-test-script-state back to "notRunning", after the page shows what
was asked for) and the page is drawn (no placeholder of a lazily loaded element left, every
Plotly chart drawn). Each figure is the median of --repeats runs; the first (cold-cache) run of
each action is printed beside it, and how much of the median the browser's main thread was
busy (Chrome's TaskDuration: rendering, Plotly, React), so a slow action says whether the
server or the browser held it up, with what the browser was given to do: the Plotly charts on
the page when the rerun finished, the kilobytes of script it downloaded (as sent, compressed)
and of Streamlit messages (figure JSON, tables) it received. With --profile, the server runs with HEARTH_PROFILE=1 and
the Python time of each page's script runs (dashboard/profiling.py) is summed up at the end;
with --js-profile, the browser's JavaScript time in each action, by script file (Plotly's
chunk, React's, the data grid's...). The first page is timed twice: right after the server
starts (cold caches), and in new browser sessions on the warm server, each followed by its first
charts (the review opens with none: Trends picked, Plotly's bundle still to load); each section
of the review's "Look closer" is timed when picked, and the review's filter change is timed with
the trends open. Prints figures; asserts
nothing. With --keep, the synthetic program is built once into that folder and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the package first, not benchmarks/metrics.py beside this file (hearth.orchestrate imports
# `metrics`; run as a script, this folder is sys.path[0])
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
IDLE = ("() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'")
# ... and the page drawn: no placeholder left where a lazily loaded element (a Plotly chart
# while Plotly's bundle loads) will appear, and every Plotly chart drawn. Without this the
# first page "finished" while its charts were still skeletons.
DRAWN = ("() => !document.querySelector('[data-testid=stMain] [data-testid=stSkeleton]') && "
         "[...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
         ".every(c => c.querySelector('.js-plotly-plot .main-svg'))")
TIMEOUT = 180_000  # ms


def build(folder: Path, groups: int) -> tuple[Path, Path]:
    """A synthetic program of ``groups`` groups through `hearth synth` and `hearth ingest`."""
    from hearth.config import load_config
    from hearth.orchestrate import ingest
    from pipelines.synth import synthesize

    config = folder / "hearth.toml"
    config.write_text('[program]\nname = "Synthetic program"\n', encoding="utf-8")
    synthesize(folder / "data", members=groups * 10, groups=groups, quarters=3, seed=14)
    ingest([folder / "data"], db=folder / "hearth.duckdb", config=load_config(config))
    return folder / "hearth.duckdb", config


@contextlib.contextmanager
def served(db: Path, config: Path | None, audience: str, port: int = 8771,
           profile: Path | None = None):
    """`hearth dashboard` on ``db``; with ``profile``, HEARTH_PROFILE=1 and its log there."""
    hearth = shutil.which("hearth", path=str(Path(sys.executable).parent)) or "hearth"
    env = dict(os.environ, HEARTH_PROFILE="1") if profile else None
    log = profile.open("w", encoding="utf-8") if profile else subprocess.DEVNULL
    process = subprocess.Popen(
        [hearth, "--db", str(db), *(["--config", str(config)] if config else []), "dashboard",
         "--audience", audience, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, env=env)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)
        if profile:
            log.close()


def report_profile(log: Path) -> None:
    """Python time of each page's script runs, from the HEARTH_PROFILE log: the entry file's
    "page <title>" sections (the page script alone) and "context" / "sidebar"."""
    runs: dict[str, list[float]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        found = re.match(r"hearth profile\s+app\s+(.+?)\s+([\d.]+) ms$", line)
        if found:
            runs.setdefault(found[1].strip(), []).append(float(found[2]))
    print("\nPython time per script run (HEARTH_PROFILE), ms: first, median, max, runs")
    for name, times in runs.items():
        print(f"  {name:<42} {times[0]:8.0f} {statistics.median(times):8.0f} "
              f"{max(times):8.0f} {len(times):5d}", flush=True)


BUSY: dict[int, float] = {}  # id(page) -> the browser main thread's busy seconds, last action
_SESSIONS: dict[int, object] = {}  # id(page) -> its Chrome DevTools session
# Bytes the browser received, by kind, since it started: "script" (JavaScript files) and
# "messages" (Streamlit's websocket frames: figure JSON, tables, widgets).
RECEIVED: dict[str, int] = {"script": 0, "messages": 0}
# Plotly charts the page holds when the rerun has finished (Streamlit's element, present before
# Plotly has drawn into it: the rerun can finish while the browser is still drawing)
CHARTS = "() => document.querySelectorAll('[data-testid=stPlotlyChart]').length"


def count_traffic(context) -> None:
    """Count what every page of ``context`` downloads (scripts) and receives (websocket)."""
    def finished(request) -> None:
        if request.resource_type == "script":
            with contextlib.suppress(Exception):
                RECEIVED["script"] += request.sizes()["responseBodySize"]

    def frames(socket) -> None:
        socket.on("framereceived", lambda payload: RECEIVED.__setitem__(
            "messages", RECEIVED["messages"] + len(payload)))

    context.on("requestfinished", finished)
    context.on("page", lambda page: page.on("websocket", frames))


def _busy(page) -> float:
    """Seconds the page's main thread has been busy so far (CDP Performance.TaskDuration)."""
    if id(page) not in _SESSIONS:
        session = page.context.new_cdp_session(page)
        session.send("Performance.enable")
        _SESSIONS[id(page)] = session
    metrics = _SESSIONS[id(page)].send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


GIVEN: dict[str, list[float]] = {}  # action -> [charts, script kB, message kB] of each run
# With --js-profile: action -> the browser's JavaScript time (µs) by script file, all its runs
# summed (Chrome's sampling profiler), so a slow action says whose code held it up: Plotly's,
# React's, the data grid's. None without --js-profile (profiling slows the browser a little).
JS_PROFILES: dict[str, Counter] | None = None


def _script_time(profile: dict) -> Counter:
    """Microseconds of a CPU profile by the script file of the function running (self time);
    work outside JavaScript as "(program)", "(garbage collector)"."""
    files = {node["id"]: node["callFrame"]["url"].rsplit("/", 1)[-1]
             or node["callFrame"]["functionName"] for node in profile["nodes"]}
    spent: Counter = Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        spent[files[sample]] += delta
    spent.pop("(idle)", None)
    return spent


def report_js_profiles() -> None:
    print("\nbrowser JavaScript time by script (--js-profile; all runs of each action), ms")
    for name, spent in JS_PROFILES.items():
        total = sum(spent.values())
        top = ", ".join(f"{file} {us / 1000:.0f}" for file, us in spent.most_common(6))
        print(f"  {name:<42} {total / 1000:8.0f}   {top}", flush=True)


def timed(page, action: Callable[[], None], ready: Callable[[], None],
          name: str | None = None) -> float:
    """Seconds from the action until the page shows ``ready`` and the rerun has finished
    (the browser's busy seconds in that time go to BUSY; with ``name``, what it was given to
    do goes to GIVEN)."""
    before = _busy(page)
    received = dict(RECEIVED)
    if JS_PROFILES is not None and name is not None:
        _SESSIONS[id(page)].send("Profiler.enable")
        _SESSIONS[id(page)].send("Profiler.start")
    start = time.perf_counter()
    action()
    ready()
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    page.wait_for_function(DRAWN, timeout=TIMEOUT)
    took = time.perf_counter() - start
    BUSY[id(page)] = _busy(page) - before
    if JS_PROFILES is not None and name is not None:
        profile = _SESSIONS[id(page)].send("Profiler.stop")["profile"]
        JS_PROFILES.setdefault(name, Counter()).update(_script_time(profile))
    if name is not None:
        GIVEN.setdefault(name, []).append([
            page.evaluate(CHARTS), (RECEIVED["script"] - received["script"]) / 1000,
            (RECEIVED["messages"] - received["messages"]) / 1000])
    return took


def heading(page, title: str) -> Callable[[], None]:
    return lambda: page.get_by_role("heading", level=1).filter(has_text=title).first \
        .wait_for(timeout=TIMEOUT)


# the quarterly review's "Look closer" sections and the heading each draws
SECTIONS = {"Trends": "Trends over the quarters",
            "Participation and retention": "Participation and retention",
            "Inclusion": "Inclusion"}


def pick_section(page, section: str) -> None:
    page.get_by_role("radio", name=section).or_(
        page.get_by_role("button", name=section, exact=True)).first.click()


def heading_named(page, title: str) -> Callable[[], None]:
    return lambda: page.get_by_role("heading", name=title, exact=True).first \
        .wait_for(timeout=TIMEOUT)


def report(name: str, runs: list[float], busy: list[float] | None = None) -> None:
    warm = runs[1:] or runs
    browser = f"   browser busy {statistics.median(busy[1:] or busy):5.2f} s" if busy else ""
    print(f"{name:<44} first {runs[0]:6.2f} s   median of {len(warm)} after "
          f"{statistics.median(warm):6.2f} s{browser}"
          f"   (all: {', '.join(f'{r:.2f}' for r in runs)})", flush=True)


def report_given() -> None:
    """What the browser was given in each action: charts on the page when it settled, script
    and message kilobytes (the first run, then the median of the rest)."""
    print(f"\n{'what the browser was given':<44} {'charts':>8} {'script kB':>16} "
          f"{'messages kB':>16}   (first / median after)")
    for name, runs in GIVEN.items():
        rest = runs[1:] or runs
        cells = [f"{runs[0][i]:>7.0f} / {statistics.median(r[i] for r in rest):<7.0f}"
                 for i in range(3)]
        print(f"{name:<44} {cells[0]:>8} {cells[1]:>16} {cells[2]:>16}", flush=True)


def measure(url: str, repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        count_traffic(context)
        page = context.new_page()
        first = timed(page, lambda: page.goto(url), heading(page, "Quarterly review"),
                      "first page (cold server)")
        print(f"{'first page (Quarterly review, cold server)':<44} {first:6.2f} s"
              f"   browser busy {BUSY[id(page)]:5.2f} s", flush=True)
        nav = page.get_by_test_id("stSidebarNav")
        switches: dict[str, list[float]] = {"Compare groups": [], "Quarterly review": []}
        busy: dict[str, list[float]] = {title: [] for title in switches}
        for _ in range(repeats + 1):
            for title in switches:
                switches[title].append(timed(
                    page, lambda t=title: nav.get_by_role("link", name=t).click(),
                    heading(page, title), f"switch to {title}"))
                busy[title].append(BUSY[id(page)])
        for title, runs in switches.items():
            report(f"switch to {title}", runs, busy[title])
        # The review draws no chart until a section of "Look closer" is picked: each section,
        # in turn (a fragment rerun; Plotly's bundle is loaded by now, Compare drew charts).
        picks: dict[str, list[float]] = {section: [] for section in SECTIONS}
        picks_busy: dict[str, list[float]] = {section: [] for section in SECTIONS}
        for _ in range(repeats + 1):
            for section, title in SECTIONS.items():
                picks[section].append(timed(page, lambda s=section: pick_section(page, s),
                                            heading_named(page, title), f"open {section}"))
                picks_busy[section].append(BUSY[id(page)])
        for section, runs in picks.items():
            report(f"open {section} on the review", runs, picks_busy[section])
        # the trends stay open for the review's filter change below (as the old first page had)
        timed(page, lambda: pick_section(page, "Trends"), heading_named(page, SECTIONS["Trends"]))
        # A new browser session on the warm server: a fresh context, as a colleague opening
        # the link (its own session, the server's caches already full).
        sessions, sessions_busy, trends, trends_busy = [], [], [], []
        for _ in range(repeats + 1):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            count_traffic(context)
            fresh = context.new_page()
            sessions.append(timed(fresh, lambda f=fresh: f.goto(url),
                                  heading(fresh, "Quarterly review"), "first page, new session"))
            sessions_busy.append(BUSY[id(fresh)])
            # then its first charts: the trends, with Plotly's bundle still to load
            trends.append(timed(fresh, lambda f=fresh: pick_section(f, "Trends"),
                                heading_named(fresh, SECTIONS["Trends"]),
                                "Trends, new session"))
            trends_busy.append(BUSY[id(fresh)])
            context.close()
        report("first page of a new session (warm server)", sessions, sessions_busy)
        report("then open Trends (Plotly not loaded yet)", trends, trends_busy)
        # A filter change on each page: one modality after another, applied with the button.
        for title in ("Quarterly review", "Compare groups"):
            nav.get_by_role("link", name=title).click()
            heading(page, title)()
            page.wait_for_function(IDLE, timeout=TIMEOUT)
            box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Modality")
            box.click()
            options = [o.inner_text() for o in page.get_by_role("option").all()
                       if o.inner_text() != "Select all"]
            page.keyboard.press("Escape")
            runs, filter_busy = [], []
            for i in range(repeats + 1):
                value = options[i % len(options)]

                def pick(v=value):
                    select = page.get_by_test_id("stSidebar").get_by_role("combobox",
                                                                          name="Modality")
                    # clear the last pick, take this one, apply both together
                    clear = page.get_by_test_id("stSidebar").get_by_role(
                        "button", name="Clear all")
                    if clear.count():
                        clear.first.click()
                    select.click()
                    page.get_by_role("option", name=v, exact=True).click()
                    page.keyboard.press("Escape")
                    page.get_by_role("button", name="Apply filters").click()

                runs.append(timed(page, pick, lambda v=value: page.get_by_text(
                    re.compile(f"Modality: [^·]*{re.escape(v)}")).first.wait_for(
                    timeout=TIMEOUT), f"filter change on {title}"))
                filter_busy.append(BUSY[id(page)])
            report(f"filter change on {title} (Modality + Apply"
                   + (", Trends open)" if title == "Quarterly review" else ")"), runs,
                   filter_busy)
        # "Find a group": type a name, pick it.
        nav.get_by_role("link", name="Compare groups").click()
        heading(page, "Compare groups")()
        page.wait_for_function(IDLE, timeout=TIMEOUT)
        names = page.locator(".js-plotly-plot").first.evaluate("gd => gd.data[0].y")
        runs, find_busy = [], []
        for name in names[:repeats + 1]:
            plain = name.lstrip("⚑◆ ")

            def find(n=plain):
                page.get_by_role("combobox", name="Find a group").fill(n)
                page.get_by_role("option", name=n, exact=True).first.click()

            runs.append(timed(page, find, lambda n=plain: page.get_by_role(
                "heading", name=f"▶ {n}").first.wait_for(timeout=TIMEOUT), "Find a group"))
            find_busy.append(BUSY[id(page)])
        report("open a group with Find a group", runs, find_busy)
        report_given()
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a warehouse already built (and published)")
    parser.add_argument("--config", type=Path, help="its hearth.toml")
    parser.add_argument("--groups", type=int, default=2000,
                        help="without --db: build a synthetic program of this many groups")
    parser.add_argument("--keep", type=Path,
                        help="with --groups: build the program into this folder once, reuse it")
    parser.add_argument("--audience", default="lead")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", type=Path,
                        help="serve with HEARTH_PROFILE=1, log to this file, sum it up at the end")
    parser.add_argument("--js-profile", action="store_true",
                        help="profile the browser's JavaScript in each action, by script file")
    args = parser.parse_args(argv)
    global JS_PROFILES
    JS_PROFILES = {} if args.js_profile else None
    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            db, config = args.db, args.config
        elif args.keep and (args.keep / "complete").exists():
            db, config = args.keep / "hearth.duckdb", args.keep / "hearth.toml"
        elif args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            db, config = build(args.keep, args.groups)
            (args.keep / "complete").write_text("", encoding="utf-8")
        else:
            db, config = build(Path(tmp), args.groups)
        print(f"warehouse {db} · audience {args.audience}", flush=True)
        with served(db, config, args.audience, profile=args.profile) as url:
            measure(url, args.repeats)
        if args.profile:
            report_profile(args.profile)
        if JS_PROFILES:
            report_js_profiles()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
