"""How long Chromium takes to draw each kind of dashboard chart, and how large its JSON is.

    .venv/bin/python benchmarks/chart_drawing.py                  # this checkout's charts
    .venv/bin/python benchmarks/chart_drawing.py --against /path/to/other/checkout

Builds the figures of dashboard/charts.py from synthetic inputs the size of a 2,000-group
program (a funnel plot of 2,000 groups, a heatmap page of 40, a trend, a retention curve), then
draws each with Plotly.newPlot in headless Chromium (Debian's, through Playwright), in a page
holding only plotly.js, and times it until the next frame. With --against, the same figures
from another checkout's dashboard/charts.py are drawn too, alternating with these, so both
sets see the same machine load. Prints the median of --repeats draws and the JSON size.
Asserts nothing. The page benchmark (benchmarks/browser.py) says what a user waits for; this
one says which chart costs what, without Streamlit around it.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import plotly
import plotly.io as pio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package, not benchmarks/dashboard.py beside this file
from dashboard import charts  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DRAW = """async (spec) => {
    const figure = JSON.parse(spec), chart = document.getElementById('chart');
    Plotly.purge(chart);
    const start = performance.now();
    await Plotly.newPlot(chart, figure.data, figure.layout, {});
    await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
    return performance.now() - start;
}"""


def charts_of(checkout: Path) -> ModuleType:
    """dashboard/charts.py of another checkout, loaded under its own name."""
    spec = importlib.util.spec_from_file_location("other_charts",
                                                  checkout / "dashboard" / "charts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inputs(groups: int = 2000, seed: int = 1) -> dict[str, tuple]:
    """Each chart's arguments, at the size of a ``groups``-group program."""
    rng = np.random.default_rng(seed)
    size = rng.integers(20, 400, groups)
    target = 0.7
    value = rng.binomial(size, target) / size
    se = np.sqrt(target * (1 - target) / size)
    points = pd.DataFrame({
        "group_id": [f"g{i:04d}" for i in range(groups)], "n": size, "value": value,
        "lo95": target - 1.96 * se, "hi95": target + 1.96 * se,
        "lo998": target - 3.09 * se, "hi998": target + 3.09 * se, "target": target})
    points["outside"] = np.select(
        [value > points["hi998"], value < points["lo998"], value > points["hi95"],
         value < points["lo95"]], ["above 99.8%", "below 99.8%", "above 95%", "below 95%"],
        "within")
    names = {g: f"Tuesday circle {g[1:]}" for g in points["group_id"]}
    trend = pd.DataFrame({
        "quarter": ["2026Q1", "2026Q2", "2026Q3"], "value": [0.612345, 0.641234, 0.661234],
        "ci_low": [0.58, 0.60, 0.62], "ci_high": [0.65, 0.68, 0.70], "n": [900, 950, 980],
        "status": ["ok"] * 3})
    days = np.arange(0, 400, 3)
    retention = pd.DataFrame({"days": days, "survival": np.exp(-days / 500),
                              "ci_low": np.exp(-days / 450), "ci_high": np.exp(-days / 550),
                              "at_risk": groups * 10 - days})
    indicators = ["attendance_rate", "active_members", "newcomer_return", "buddy_coverage",
                  "hosting_breadth", "belonging", "psychological_safety", "peer_support"]
    page = [names[g] for g in points["group_id"][:40]]
    values = pd.DataFrame(rng.random((40, len(indicators))), index=page, columns=indicators)
    return {
        "funnel plot (2,000 groups)": ("funnel_plot", (points, "attendance_rate", names)),
        "heatmap (a page of 40 groups)": ("heatmap", (values, values.map(lambda v: f"{v:.0%}"),
                                                      5)),
        "trend": ("trend", (trend, "attendance_rate", 5)),
        "retention curve": ("retention_curve", (retention,)),
    }


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout whose charts to draw too")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    sets = {"this checkout": charts}
    if args.against:
        sets[str(args.against)] = charts_of(args.against)
    specs = {(name, label): pio.to_json(getattr(module, kind)(*arguments), validate=False)
             for label, (kind, arguments) in inputs().items()
             for name, module in sets.items()}
    script = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        page_file = Path(tmp) / "draw.html"
        page_file.write_text("<html><body><div id='chart' style='width:1200px'></div>"
                             f"<script>{script.read_text(encoding='utf-8')}</script>"
                             "</body></html>", encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(page_file.as_uri())
        times: dict[tuple[str, str], list[float]] = {key: [] for key in specs}
        for _ in range(args.repeats):
            for key, spec in specs.items():  # alternating: every set sees the same load
                times[key].append(page.evaluate(DRAW, spec))
        browser.close()
    print(f"{'chart':<32} {'charts of':<28} {'JSON kB':>8} {'draw, median ms':>16}")
    for (name, label), runs in times.items():
        print(f"{label:<32} {name[-28:]:<28} {len(specs[name, label]) / 1000:8.1f} "
              f"{statistics.median(runs):16.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
