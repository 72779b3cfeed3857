"""Ingest → refresh → publish: the one place where the pipelines and the metrics meet.

`pipelines/` only loads files and `metrics/` only computes indicators; neither knows the other.
The CLI and the dashboard's uploads both come here, so a file loaded either way ends in the same
state: loaded, indicators rebuilt, the dashboard's read-only snapshot swapped in.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from hearth.config import Config, load_config
from hearth.errors import HearthError
from hearth.state import state, state_path
from hearth.warehouse import connect, db_path, publish, published_path
from metrics import pagedata
from metrics.followup import ACTION_TESTS, publish_action_tests
from metrics.refresh import refresh, touched_since
from pipelines.ingest import LoadProgress, LoadSummary, ingest_paths


def ingest(
    paths: list[str | Path],
    db: str | Path | None = None,
    config: Config | None = None,
    kind: str | None = None,
    fmt: str | None = None,
    refresh_after: bool = True,
    progress: LoadProgress | None = None,
    only_into_empty: bool = False,
) -> list[LoadSummary]:
    """Load files and folders, then rebuild and publish when anything new landed (or when
    nothing has been published yet). One summary per file, in load order.

    `only_into_empty` refuses a warehouse that already holds a load (the bundled sample must
    never mix with a program's real data).

    The rebuild starts at the first quarter the new rows touch (metrics.refresh.touched_since):
    a week of attendance rebuilds its quarter, not the program's whole history."""
    config = config or load_config()
    if only_into_empty:
        refuse_unless_empty(db)
    summaries = ingest_paths(paths, db=db, config=config, kind=kind, fmt=fmt, progress=progress)
    loads = [s.load_id for s in summaries if s.rows_loaded and s.load_id is not None]
    if refresh_after and (loads or not published_path(db).exists()):
        refresh_and_publish(db, config, loads=loads)
    return summaries


def refuse_unless_empty(db: str | Path | None) -> None:
    """HearthError when the warehouse already holds a loaded file."""
    if not db_path(db).exists():
        return
    con = connect(db)
    try:
        loads = con.execute("SELECT count(*) FROM raw.load_manifest").fetchone()[0]
    finally:
        con.close()
    if loads:
        raise HearthError(
            f"{db}: the warehouse already holds the program's data ({loads} file(s) loaded); "
            "the sample is only ever loaded into an empty warehouse")


def refresh_and_publish(db: str | Path | None, config: Config,
                        loads: list[int] | None = None) -> dict[str, int]:
    """Rebuild the indicators, then swap in the dashboard's read-only copy; rows per mart.

    `loads`: the loads just added; only the quarters their rows touch are rebuilt (None or
    empty: every quarter)."""
    con = connect(db)
    try:
        since = touched_since(con, config, loads) if loads else None
        counts = refresh(con, config, since=since)
        counts[ACTION_TESTS] = follow_up_tests(con, db)
        publish(con, db, finish=pagedata.finisher(config))
    finally:
        con.close()
    return counts


def follow_up_tests(con: duckdb.DuckDBPyConnection, db: str | Path | None) -> int:
    """Test the survey indices the actions aim at against the answers, which only the
    warehouse holds, for the pages to read from their snapshots (metrics.followup
    .publish_action_tests); rows written. Actions live in the state store beside the warehouse:
    without one there is nothing to test (and no store is created for it)."""
    if not state_path(db).exists():
        return publish_action_tests(con, None)
    with state(db) as state_con:
        return publish_action_tests(con, state_con)
