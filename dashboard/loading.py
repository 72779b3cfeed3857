"""Loading files from the dashboard: only the program lead, every attempt in the audit log, and
the load itself in a child process with memory and time limits.

The dashboard only reads the published snapshot. Files go to the one writer
(hearth.orchestrate.ingest: load, refresh the indicators, publish), run in
`dashboard.ingest_child` so that a hostile file (a spreadsheet bomb, a reader that loops) can
cost at most that process: the server keeps answering, and the lead reads one clear line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hearth import state
from hearth.access import Viewer
from hearth.config import Config

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
CHILD = "dashboard.ingest_child"  # the module the child process runs


@dataclass(frozen=True)
class LoadResult:
    """What a load from the dashboard did: the pipeline's own summary text and table."""

    text: str
    table: pd.DataFrame
    failed: bool


def _summaries_table(summaries: list) -> pd.DataFrame:
    rows = []
    for summary in summaries:
        row = {}
        for key, value in summary.as_dict().items():
            if isinstance(value, list | tuple | set):
                value = ", ".join(str(v) for v in value)
            elif isinstance(value, dict):
                value = "; ".join(f"{k}: {v}" for k, v in value.items())
            row[key] = value
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ChildOutcome:
    """What the child process reported: the summaries (as dicts), or one line saying why not."""

    summaries: list[dict]
    error: str | None = None


def ingest_in_child(paths: list[Path], db: str | Path, config: Config,
                    only_if_empty: bool = False) -> ChildOutcome:
    """Run ingest → refresh → publish on `paths` in a child process under the configured
    memory and time limits. Never raises for a bad file; the outcome's error says what happened."""
    names = ", ".join(Path(p).name for p in paths)
    fix_memory = ("check the file is what it claims to be; a lead with a genuinely large file can "
                  "raise uploads.memory_limit_mb in hearth.toml or load it with `hearth ingest`")
    with tempfile.TemporaryDirectory(prefix="hearth-child-") as tmp:
        result = Path(tmp) / "result.json"
        command = [sys.executable, "-m", CHILD, "--result", str(result),
                   "--db", str(Path(db).resolve()), "--memory-mb", str(config.upload_memory_mb),
                   "--cpu-seconds", str(config.upload_time_limit_s)]
        if config.source:
            command += ["--config", str(Path(config.source).resolve())]
        if only_if_empty:
            command.append("--only-if-empty")
        command += [str(p) for p in paths]
        env = dict(os.environ)
        # glibc reserves 64 MB of address space per malloc arena and thread: few arenas keep
        # the address-space limit about memory actually used. DuckDB stays at half the limit.
        env["MALLOC_ARENA_MAX"] = "2"
        env["HEARTH_DUCKDB_MEMORY_LIMIT"] = f"{config.upload_memory_mb // 2}MB"
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=env, start_new_session=True)
        try:
            _, stderr = process.communicate(timeout=config.upload_time_limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the child and nothing else
            process.communicate()
            return ChildOutcome([], (
                f"{names}: loading took longer than {config.upload_time_limit_s} s and was "
                "stopped; nothing from an unfinished file was stored. Split the export into "
                "smaller files, or raise uploads.time_limit_seconds in hearth.toml"))
        if result.exists():
            reported = json.loads(result.read_text(encoding="utf-8"))
            error = reported.get("error")
            if error == "memory":
                error = (f"{names}: loading needed more than the {config.upload_memory_mb} MB "
                         f"of memory an upload may use and was stopped; nothing from it was "
                         f"stored. {fix_memory[0].upper()}{fix_memory[1:]}")
            elif error == "busy":
                error = (f"{db}: another load is writing to the warehouse right now; "
                         "try again when it has finished.")
            return ChildOutcome(reported.get("summaries", []), error)
    if process.returncode < 0 or b"memory allocation" in stderr or b"MemoryError" in stderr:
        # Killed by a signal (a reader aborting on a failed allocation, the CPU limit, the
        # kernel): the load's transaction never committed, so that file left nothing behind.
        why = ("ran out of its CPU time" if process.returncode == -signal.SIGXCPU
               else f"needed more than the {config.upload_memory_mb} MB of memory an upload may use")
        return ChildOutcome([], (
            f"{names}: loading {why} and was stopped; nothing from an unfinished file was "
            f"stored (files listed in Load history were loaded). {fix_memory[0].upper()}{fix_memory[1:]}"))
    last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
    return ChildOutcome([], (f"{names}: loading stopped unexpectedly ({last[0][:200]}); nothing "
                             "from an unfinished file was stored. Please report this as a bug."))


def _result(outcome: ChildOutcome, names_only: bool = False) -> tuple[LoadResult, list]:
    from pipelines.ingest import LoadSummary
    from pipelines.report import format_summaries

    summaries = [LoadSummary(**{k: v for k, v in s.items() if k != "reconciles"})
                 for s in outcome.summaries]
    if names_only:  # an upload's temporary folder means nothing to the person who sent it
        for s in summaries:
            s.file = Path(s.file).name
    if outcome.error:
        return LoadResult(outcome.error, _summaries_table(summaries), True), summaries
    failed = any(s.error for s in summaries)
    return LoadResult(format_summaries(summaries), _summaries_table(summaries), failed), summaries


def refuse_unless_lead(viewer: Viewer) -> str | None:
    """Why this person may not upload (None when they may)."""
    if viewer.is_lead:
        return None
    return ("only the program lead uploads files (uploads change every figure Hearth shows); "
            "ask the lead to load it")


def ingest_uploads(files: Iterable, db: str | Path, config: Config, viewer: Viewer) -> LoadResult:
    """Uploaded files (objects with .name and .getvalue()), loaded for the signed-in lead.

    Refused for anyone else, and per file above the size limit. Written to a temporary folder
    under their own names (so detection and the summary see the names the user knows), loaded in
    a child process, and every file - loaded, refused or failed - recorded in the audit log."""
    from pipelines.ingest import file_hash

    files = list(files)
    if not files:
        return LoadResult("No files were chosen.", pd.DataFrame(), True)
    refusal = refuse_unless_lead(viewer)
    limit = config.upload_max_mb * 2**20
    with tempfile.TemporaryDirectory(prefix="hearth-upload-") as tmp, state.state(db) as log:
        paths, refused, uploaded = [], [], {}
        for upload in files:
            name = Path(upload.name).name  # never a path from the browser
            data = upload.getvalue()
            why = refusal
            if why is None and len(data) > limit:
                why = (f"is {len(data) / 2**20:,.1f} MB; uploads may be at most "
                       f"{config.upload_max_mb} MB (uploads.max_size_mb in hearth.toml). Split "
                       "the export, or load it with `hearth ingest` on the server")
            target = Path(tmp) / name
            target.write_bytes(data)
            uploaded[name] = {"content_hash": file_hash(target), "size_bytes": len(data)}
            if why:
                refused.append(f"{name}: {why}")
                state.record(log, viewer.actor, "upload", name, **uploaded[name], error=why)
                target.unlink()
            else:
                paths.append(target)
        if not paths:
            return LoadResult("\n".join(refused), pd.DataFrame(), True)
        outcome = ingest_in_child(sorted(paths), db, config)
        result, summaries = _result(outcome, names_only=True)
        reported = {Path(s.file).name: s for s in summaries}
        for path in paths:
            s = reported.get(path.name)
            detail = uploaded[path.name] | (
                {"kind": s.kind, "format": s.format, "rows_read": s.rows_read,
                 "rows_loaded": s.rows_loaded, "rows_duplicate": s.rows_duplicate,
                 "rows_quarantined": s.rows_quarantined, "members_changed": s.members_changed,
                 "already_loaded": s.already_loaded, "error": s.error}
                if s else {"error": outcome.error})
            state.record(log, viewer.actor, "upload", path.name, **detail)
    if refused:
        text = "\n".join(refused) + "\n" + result.text
        return LoadResult(text, result.table, True)
    return result


def load_sample(db: str | Path, viewer: Viewer) -> LoadResult:
    """Load the bundled sample community (data/sample) with its own hearth.toml, into an EMPTY
    warehouse only: the sample's twenty groups must never mix with a program's real data."""
    from hearth.config import load_config

    if not viewer.is_lead:
        return LoadResult(f"{SAMPLE_DIR}: {refuse_unless_lead(viewer)}", pd.DataFrame(), True)
    if not SAMPLE_DIR.is_dir() or not any(SAMPLE_DIR.glob("*.csv")):
        return LoadResult(f"{SAMPLE_DIR}: the bundled sample is missing; reinstall Hearth "
                          "or load your own files.", pd.DataFrame(), True)
    own = SAMPLE_DIR / "hearth.toml"
    config = load_config(own) if own.exists() else Config()
    result, _ = _result(ingest_in_child([SAMPLE_DIR], db, config, only_if_empty=True))
    with state.state(db) as log:
        state.record(log, viewer.actor, "load_sample", str(SAMPLE_DIR),
                     error=result.text if result.failed else None)
    return result
