"""Page switch and filter change times in headless Chromium (issue 11: ≤ 1 s per switch or
filter change, first page ≤ 3 s), on a warehouse of any size.

    .venv/bin/python benchmarks/browser.py --db /path/to/hearth.duckdb [--config hearth.toml]
    .venv/bin/python benchmarks/browser.py --groups 2000      # build one with `hearth synth`

It serves the warehouse with `hearth dashboard` (as a user runs it), opens it in Debian's
Chromium through Playwright, and times from the click to the moment Streamlit has finished the
rerun (the app root's data-test-script-state back to "notRunning", after the page shows what
was asked for). Each figure is the median of --repeats runs; the first (cold-cache) run of
each action is printed beside it. Prints figures; asserts nothing.
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
from collections.abc import Callable
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
IDLE = ("() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'")
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
def served(db: Path, config: Path | None, audience: str, port: int = 8771):
    hearth = shutil.which("hearth", path=str(Path(sys.executable).parent)) or "hearth"
    process = subprocess.Popen(
        [hearth, "--db", str(db), *(["--config", str(config)] if config else []), "dashboard",
         "--audience", audience, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
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


def timed(page, action: Callable[[], None], ready: Callable[[], None]) -> float:
    """Seconds from the action until the page shows ``ready`` and the rerun has finished."""
    start = time.perf_counter()
    action()
    ready()
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    return time.perf_counter() - start


def heading(page, title: str) -> Callable[[], None]:
    return lambda: page.get_by_role("heading", level=1).filter(has_text=title).first \
        .wait_for(timeout=TIMEOUT)


def report(name: str, runs: list[float]) -> None:
    warm = runs[1:] or runs
    print(f"{name:<44} first {runs[0]:6.2f} s   median of {len(warm)} after {statistics.median(warm):6.2f} s"
          f"   (all: {', '.join(f'{r:.2f}' for r in runs)})", flush=True)


def measure(url: str, repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        first = timed(page, lambda: page.goto(url), heading(page, "Quarterly review"))
        print(f"{'first page (Quarterly review, cold server)':<44} {first:6.2f} s", flush=True)
        nav = page.get_by_test_id("stSidebarNav")
        switches: dict[str, list[float]] = {"Compare groups": [], "Quarterly review": []}
        for _ in range(repeats + 1):
            for title in switches:
                switches[title].append(timed(
                    page, lambda t=title: nav.get_by_role("link", name=t).click(),
                    heading(page, title)))
        for title, runs in switches.items():
            report(f"switch to {title}", runs)
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
            runs = []
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
                    timeout=TIMEOUT)))
            report(f"filter change on {title} (Modality + Apply)", runs)
        # "Find a group": type a name, pick it.
        nav.get_by_role("link", name="Compare groups").click()
        heading(page, "Compare groups")()
        page.wait_for_function(IDLE, timeout=TIMEOUT)
        names = page.locator(".js-plotly-plot").first.evaluate("gd => gd.data[0].y")
        runs = []
        for name in names[:repeats + 1]:
            plain = name.lstrip("⚑◆ ")

            def find(n=plain):
                page.get_by_role("combobox", name="Find a group").fill(n)
                page.get_by_role("option", name=n, exact=True).first.click()

            runs.append(timed(page, find, lambda n=plain: page.get_by_role(
                "heading", name=f"▶ {n}").first.wait_for(timeout=TIMEOUT)))
        report("open a group with Find a group", runs)
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a warehouse already built (and published)")
    parser.add_argument("--config", type=Path, help="its hearth.toml")
    parser.add_argument("--groups", type=int, default=2000,
                        help="without --db: build a synthetic program of this many groups")
    parser.add_argument("--audience", default="lead")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db, config = (args.db, args.config) if args.db else build(Path(tmp), args.groups)
        print(f"warehouse {db} · audience {args.audience}", flush=True)
        with served(db, config, args.audience) as url:
            measure(url, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
