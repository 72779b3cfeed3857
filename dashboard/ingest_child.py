"""The child process that loads dashboard uploads: `python -m dashboard.ingest_child ...`.

Uploads are the one place where a stranger's file meets Hearth's readers inside the server. A
reader that asks for 512 GiB (a spreadsheet bomb) or loops on a hostile file must cost at most
this process, never the dashboard's. So the limits are set first, before any reader is even
imported: address space (RLIMIT_AS) and CPU time (RLIMIT_CPU); the parent also stops the child
after a wall-clock time limit. DuckDB is told to stay well inside the memory limit so that a
large load spills to disk instead of failing to allocate.

The result (the load summaries, or one error line) is written as JSON to --result.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path


def set_limits(memory_mb: int, cpu_seconds: int) -> None:
    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.ingest_child")
    parser.add_argument("--result", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--config")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--only-if-empty", action="store_true",
                        help="refuse unless the warehouse holds no load yet (the bundled sample)")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    set_limits(args.memory_mb, args.cpu_seconds)

    import duckdb

    from hearth.config import Config, load_config
    from hearth.errors import HearthError
    from hearth.orchestrate import ingest

    try:
        config = load_config(args.config) if args.config else Config()
        summaries = ingest(args.paths, db=args.db, config=config,
                           only_into_empty=args.only_if_empty)
        result: dict = {"summaries": [s.as_dict() for s in summaries]}
    except MemoryError:
        result = {"error": "memory"}
    except duckdb.OutOfMemoryException:
        result = {"error": "memory"}
    except duckdb.IOException as exc:
        busy = "lock" in str(exc).lower()
        result = {"error": "busy" if busy else f"the warehouse could not be written ({exc})"}
    except HearthError as exc:  # the message names file and fix
        result = {"error": str(exc)}
    target = Path(args.result)
    temp = target.with_suffix(".tmp")
    temp.write_text(json.dumps(result, default=str), encoding="utf-8")
    os.replace(temp, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
