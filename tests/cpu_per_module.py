"""A pytest plugin that says where the suite's CPU time goes, module by module (opt-in):

    HEARTH_TEST_CPU=/tmp/cpu pytest -p tests.cpu_per_module -m "not slow" ...

Each test process (each xdist worker) writes its own figures into the folder $HEARTH_TEST_CPU
(empty it between runs); the run's last process prints one table of every file there: per
module, the CPU seconds of its tests (user + system, the process and the children it waited
for, setup and teardown included, so a session fixture counts where it is first built), and
how much of that went to `metrics.refresh.refresh`, `hearth.orchestrate.ingest` (its refresh
and publish included) and `AppTest.run`, with their call counts, and the subprocesses started.

CPU seconds, not wall time: on a shared machine the wall time is mostly waiting for a core.
What it cannot see: the CPU of a child nobody waited for yet (a served dashboard, Chromium)
is counted where the child ends, usually the module whose fixture stopped it or the session's
last. docs/benchmarks.md ("The test suite") has the figures.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import time
from collections import defaultdict
from pathlib import Path

import pytest

WRAPPED = {  # what is counted: (module, attribute) -> the name in the table
    ("metrics.refresh", "refresh"): "refresh",
    ("hearth.orchestrate", "ingest"): "ingest",
}

_module = "(collection)"  # the module whose test runs now
_cpu = defaultdict(float)
_wall = defaultdict(float)
_tests = defaultdict(int)
_calls = defaultdict(lambda: defaultdict(int))
_inside = defaultdict(lambda: defaultdict(float))


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _counted(name: str, function):
    @functools.wraps(function)
    def counting(*args, **kwargs):
        _calls[_module][name] += 1
        start = cpu_seconds()
        try:
            return function(*args, **kwargs)
        finally:
            _inside[_module][name] += cpu_seconds() - start
    return counting


def _folder() -> Path | None:
    folder = os.environ.get("HEARTH_TEST_CPU")
    return Path(folder) if folder else None


def pytest_configure(config):
    """Wrap the counted functions before any test module imports them by name."""
    if _folder() is None:
        return
    import importlib
    import subprocess

    for (module_name, attribute), name in WRAPPED.items():
        module = importlib.import_module(module_name)
        setattr(module, attribute, _counted(name, getattr(module, attribute)))
    from streamlit.testing.v1 import AppTest

    AppTest.run = _counted("AppTest.run", AppTest.run)
    real_init = subprocess.Popen.__init__

    @functools.wraps(real_init)
    def popen_init(self, *args, **kwargs):
        _calls[_module]["subprocess"] += 1
        return real_init(self, *args, **kwargs)

    subprocess.Popen.__init__ = popen_init


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _module
    _module = item.nodeid.split("::", 1)[0].removeprefix("tests/")
    start, wall = cpu_seconds(), time.monotonic()
    yield
    _cpu[_module] += cpu_seconds() - start
    _wall[_module] += time.monotonic() - wall
    _tests[_module] += 1


def pytest_sessionfinish(session):
    folder = _folder()
    if folder is None or not _tests:
        return
    folder.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    figures = {module: {"cpu": _cpu[module], "wall": _wall[module], "tests": _tests[module],
                        "calls": dict(_calls[module]), "inside": dict(_inside[module])}
               for module in _tests}
    figures["(whole process)"] = {"cpu": cpu_seconds(), "wall": 0.0, "tests": sum(_tests.values()),
                                  "calls": {}, "inside": {}}
    (folder / f"{worker}.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")


def pytest_terminal_summary(terminalreporter):
    folder = _folder()
    if folder is None or os.environ.get("PYTEST_XDIST_WORKER") or not folder.exists():
        return
    rows: dict[str, dict] = {}
    processes = 0.0
    for path in sorted(folder.glob("*.json")):
        for module, figures in json.loads(path.read_text(encoding="utf-8")).items():
            if module == "(whole process)":
                processes += figures["cpu"]
                continue
            row = rows.setdefault(module, {"cpu": 0.0, "tests": 0, "calls": defaultdict(int),
                                           "inside": defaultdict(float)})
            row["cpu"] += figures["cpu"]
            row["tests"] += figures["tests"]
            for name, count in figures["calls"].items():
                row["calls"][name] += count
            for name, seconds in figures["inside"].items():
                row["inside"][name] += seconds
    write = terminalreporter.write_line
    write("")
    write(f"CPU seconds per module (tests/cpu_per_module.py; every process: {processes:.1f} s, "
          f"tests: {sum(r['cpu'] for r in rows.values()):.1f} s)")
    names = ("refresh", "ingest", "AppTest.run")
    write(f"{'module':44} {'tests':>5} {'CPU s':>7}  " + "  ".join(f"{n:>16}" for n in names)
          + "  subprocesses")
    for module, row in sorted(rows.items(), key=lambda item: -item[1]["cpu"]):
        cells = "  ".join(f"{row['calls'].get(n, 0):>4} x {row['inside'].get(n, 0.0):7.1f} s"
                          for n in names)
        write(f"{module:44} {row['tests']:>5} {row['cpu']:7.1f}  {cells}  "
              f"{row['calls'].get('subprocess', 0):>5}")
