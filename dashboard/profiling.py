"""Where a page's rerun spends its time, section by section, when HEARTH_PROFILE is set.

    HEARTH_PROFILE=1 hearth dashboard ...

logs one line per section to standard error, e.g.
``hearth profile  review  trends  412.3 ms``, then the page's total. Without the variable the
sections cost one dictionary lookup each. Used to find what makes a rerun slow (figures, the
sidebar's pickers, large tables, data calls); docs/benchmarks.md records what it found.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

ENV = "HEARTH_PROFILE"
P = ParamSpec("P")
R = TypeVar("R")


def enabled() -> bool:
    return bool(os.environ.get(ENV))


@contextlib.contextmanager
def section(page: str, name: str) -> Iterator[None]:
    """Time the code inside as ``name`` of ``page`` (logged only when HEARTH_PROFILE is set)."""
    if not enabled():
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        took = (time.perf_counter() - start) * 1000
        # stderr, not logging: Streamlit's logger config would hide it below WARNING
        print(f"hearth profile  {page:<10} {name:<28} {took:8.1f} ms", file=sys.stderr,
              flush=True)


def timed(page: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: time every call of a page section (a function) as ``section(page, name)``."""
    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with section(page, function.__name__):
                return function(*args, **kwargs)
        return run
    return wrap
