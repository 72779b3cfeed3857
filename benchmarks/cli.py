"""CLI start-up: the commands that read finished figures, against `python -c "import duckdb"`.

Builds the sample warehouse (`hearth ingest data/sample --config data/sample/hearth.toml`) in a
temporary folder, then times each command as a user runs it - a new process from start to the
last line printed - the median of --runs runs, interleaved with the baseline so that a busy
machine slows both alike. Prints each command's median and its ratio to the baseline's median
measured in the same run (target: at most 1.5, BRIEF §9), and, with --imports, the heavy
packages each command loads (scipy, pandera, pandas, numpy, pyarrow).

Commands run as on a user's machine: with bytecode caches (PYTHONDONTWRITEBYTECODE is dropped,
and one untimed round writes them), so Python does not recompile Hearth on every start.

    .venv/bin/python benchmarks/cli.py [--runs 7] [--imports]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5
HEAVY = ("scipy", "pandera", "pandas", "numpy", "pyarrow", "plotly", "streamlit")

COMMANDS = [
    ["--help"],
    ["status"],
    ["formats"],
    ["review"],
    ["review", "--json"],
    ["flags"],
    ["flags", "--json"],
]


def hearth(*args: str) -> list[str]:
    """The installed `hearth` script beside this interpreter (what a user types)."""
    return [str(Path(sys.executable).with_name("hearth")), *args]


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return took


def heavy_imports(args: list[str], env: dict[str, str], folder: str) -> list[str]:
    """The heavy top-level packages a command imports (python -X importtime). Run outside the
    checkout, so that `-m hearth.cli` imports the installed Hearth, as the timed runs do."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "hearth.cli", *args],
                          env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0]
              for line in done.stderr.splitlines() if line.startswith("import time:")}
    return [name for name in HEAVY if name in loaded]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median; ≥ 5)")
    parser.add_argument("--imports", action="store_true",
                        help="also list the heavy packages each command imports")
    args = parser.parse_args()
    runs = max(5, args.runs)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "sample.duckdb"
        env = {**os.environ, "HEARTH_DB": str(db),
               "HEARTH_CONFIG": str(ROOT / "data" / "sample" / "hearth.toml")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(hearth("ingest", "data/sample"), env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        baseline_command = [sys.executable, "-c", "import duckdb"]
        for command in [baseline_command, *(hearth(*c) for c in COMMANDS)]:  # bytecode caches
            timed(command, env)
        times: dict[str, list[float]] = {"baseline": []}
        for _ in range(runs):  # interleaved: each round runs the baseline and every command once
            times["baseline"].append(timed(baseline_command, env))
            for command in COMMANDS:
                times.setdefault(" ".join(command), []).append(timed(hearth(*command), env))
        baseline = statistics.median(times.pop("baseline"))
        print(f'python -c "import duckdb": {baseline * 1000:,.0f} ms (median of {runs})')
        print(f"{'command':<24} {'median':>9} {'ratio':>6}  (target ≤ {TARGET})")
        worst = 0.0
        for command in COMMANDS:
            name = " ".join(command)
            median = statistics.median(times[name])
            ratio = median / baseline
            worst = max(worst, ratio)
            heavy = ""
            if args.imports:
                heavy = "  imports: " + (", ".join(heavy_imports(command, env, folder)) or "none heavy")
            print(f"hearth {name:<17} {median * 1000:>6,.0f} ms {ratio:>6.2f}"
                  f"{'' if ratio <= TARGET else '  over target'}{heavy}")
        print(f"slowest: {worst:.2f} x the bare duckdb import")


if __name__ == "__main__":
    main()
