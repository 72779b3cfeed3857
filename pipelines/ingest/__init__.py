"""`hearth ingest`: files in, warehouse out — validated, idempotent, nothing lost.

For every file: detect what it is (a canonical entity from its header, or a tool export from its
content), hash it (the same bytes twice add nothing), then in ONE transaction stage the rows in
DuckDB, run the entity's checks (compiled from its pandera model), send failing rows to
raw.quarantine with line, column and reason, insert the rest unless their natural key is already
loaded (those count as duplicates), and write the manifest row. A crash or kill before COMMIT
leaves the warehouse exactly as it was. Every summary reconciles:
rows read = loaded + duplicates + quarantined.

A clean new canonical file (groups, sessions, attendance, buddy check-ins) skips the staging:
its rows go from the file into core in one pass, judged on the way in; when that pass cannot
vouch for every row, it is rolled back and the file is staged and judged as above
(load.load_in_one_pass).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from hearth.config import Config, load_config
from hearth.errors import HearthError
from hearth.instrument import Instrument, load_instrument
from hearth.warehouse import connect
from pipelines.ingest.discover import Plan, expand, file_digest, file_hash, plan_file
from pipelines.ingest.load import (
    ONE_PASS_KINDS,
    ROSTER_KINDS,
    load_canonical,
    load_export,
    load_in_one_pass,
    rescrub_comments,
    scrubber_for,
)
from pipelines.ingest.manifest import write_instrument, write_manifest
from pipelines.ingest.stage import db_detail
from pipelines.ingest.summary import IngestError, LoadProgress, LoadSummary
from pipelines.schemas import ENTITIES

__all__ = ["IngestError", "LoadProgress", "LoadSummary", "expand", "file_hash", "ingest_paths",
           "write_instrument", "write_manifest"]


def ingest_paths(
    paths: list[str | Path],
    db: str | Path | None = None,
    config: Config | None = None,
    kind: str | None = None,
    fmt: str | None = None,
    progress: LoadProgress | None = None,
) -> list[LoadSummary]:
    """Load files and folders into the warehouse; one summary per file, in load order.

    `progress` hears when each file starts and ends (the CLI shows long loads on a terminal).

    Only the load: rebuilding the indicators and publishing is hearth.orchestrate's job."""
    config = config or load_config()
    instrument = load_instrument(config)
    if kind and kind not in ENTITIES:
        raise HearthError(f"--kind {kind!r} is not a canonical entity; use one of {', '.join(ENTITIES)}")
    files = expand(paths)
    con = connect(db)
    try:
        write_instrument(con, instrument)
        plans = [plan_file(path, instrument, kind, fmt) for path in files]
        plans.sort(key=lambda plan: plan.order)
        summaries = []
        for number, plan in enumerate(plans, start=1):
            if progress is not None:
                progress.started(plan.path, number, len(plans))
            summaries.append(_load(con, plan, config, instrument))
            if progress is not None:
                progress.finished(summaries[-1])
        return summaries
    finally:
        con.close()



def _load(con, plan: Plan, config: Config, instrument: Instrument) -> LoadSummary:
    summary = LoadSummary(file=str(plan.path), kind=plan.kind, format=plan.fmt)
    if plan.error:
        summary.error = plan.error
        return summary
    digest = file_digest(plan.path)
    seen = con.execute(
        "SELECT load_id, loaded_at FROM raw.load_manifest WHERE content_hash = ?", [digest.content_hash]
    ).fetchone()
    if seen:
        summary.already_loaded = f"load #{seen[0]} on {seen[1]:%Y-%m-%d %H:%M}"
        return summary
    if plan.fmt == "canonical" and plan.kind in ONE_PASS_KINDS:
        if _in_transaction(con, plan, summary, digest.content_hash, _rescrubbing(
                con, config, plan, summary, lambda: load_in_one_pass(
                    con, plan, summary, instrument, digest.data_lines))):
            return summary
        summary = LoadSummary(file=str(plan.path), kind=plan.kind, format=plan.fmt)

    def judged() -> bool:
        scrubber = scrubber_for(con, config) if plan.kind == "survey_responses" else None
        if plan.fmt == "canonical":
            load_canonical(con, plan, summary, instrument, scrubber)
        else:
            load_export(con, plan, summary, config, instrument, scrubber)
        return True

    _in_transaction(con, plan, summary, digest.content_hash,
                    _rescrubbing(con, config, plan, summary, judged))
    return summary


def _rescrubbing(con, config: Config, plan: Plan, summary: LoadSummary, load):
    """`load`, then (for a roster load that loaded rows) the stored comments scrubbed again for
    the names it added, in the same transaction (load.rescrub_comments)."""
    def run() -> bool:
        if not load():
            return False
        if plan.kind in ROSTER_KINDS and summary.rows_loaded and summary.load_id is not None:
            rescrub_comments(con, config, summary.load_id)
        return True
    return run


def _in_transaction(con, plan: Plan, summary: LoadSummary, digest: str, load) -> bool:
    """Run `load` in one transaction with the manifest row; commit when it returns True.

    A load that returns False (the one-pass load declining a file) is rolled back without an
    error; an expected failure is rolled back into the summary's error."""
    con.execute("BEGIN TRANSACTION")
    try:
        summary.load_id = con.execute("SELECT nextval('raw.load_id_seq')").fetchone()[0]
        if not load():
            con.execute("ROLLBACK")
            return False
        write_manifest(con, summary, digest, plan)
        con.execute("COMMIT")
        return True
    except IngestError as exc:
        con.execute("ROLLBACK")
        summary.error = str(exc)
    except duckdb.Error as exc:  # a safety net: a file we failed to foresee still gets one line
        con.execute("ROLLBACK")
        summary.error = f"could not be loaded ({db_detail(exc, plan.kind)}); nothing from it was stored"
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for table in ("staged", "suspects", "failures", "reject_errors", "reject_scans",
                      "response_keys", "repeats"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return True
