"""Loading files from the dashboard goes through the same ingestion pipeline as `hearth ingest`.

The dashboard itself only reads the published snapshot; these functions hand files to the one
writer (hearth.orchestrate.ingest), which loads, refreshes the indicators and publishes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from hearth.config import Config, load_config
from hearth.errors import HearthError

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"


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


def ingest(paths: list[Path], db: str | Path, config: Config) -> LoadResult:
    """Run the ingestion pipeline on files or folders; never raises for an expected failure."""
    # Deferred: the ingestion stack (pandera, the adapters) is only needed once a file arrives.
    from hearth.orchestrate import ingest
    from pipelines.report import format_summaries

    try:
        summaries = ingest([str(p) for p in paths], db=db, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return LoadResult(
                f"{db}: another load is writing to the warehouse right now; "
                "try again when it has finished.", pd.DataFrame(), True)
        return LoadResult(f"{db}: the warehouse could not be written ({exc}).", pd.DataFrame(),
                          True)
    except HearthError as exc:  # the message names file and fix
        return LoadResult(str(exc), pd.DataFrame(), True)
    failed = any(getattr(s, "error", None) for s in summaries)
    return LoadResult(format_summaries(summaries), _summaries_table(summaries), failed)


def ingest_uploads(files: Iterable, db: str | Path, config: Config) -> LoadResult:
    """Uploaded files (objects with .name and .getvalue()) written to a temporary folder under
    their own names, so format detection and the summary see the names the user knows."""
    with tempfile.TemporaryDirectory(prefix="hearth-upload-") as tmp:
        paths = []
        for upload in files:
            target = Path(tmp) / Path(upload.name).name  # never a path from the browser
            target.write_bytes(upload.getvalue())
            paths.append(target)
        if not paths:
            return LoadResult("No files were chosen.", pd.DataFrame(), True)
        return ingest(sorted(paths), db, config)


def load_sample(db: str | Path, config: Config) -> LoadResult:
    """Load the bundled sample community (data/sample), read with the sample's own hearth.toml
    when it has one (it maps the sample's meeting exports to its groups)."""
    if not SAMPLE_DIR.is_dir() or not any(SAMPLE_DIR.glob("*.csv")):
        return LoadResult(f"{SAMPLE_DIR}: the bundled sample is missing; reinstall Hearth "
                          "or load your own files.", pd.DataFrame(), True)
    own = SAMPLE_DIR / "hearth.toml"
    return ingest([SAMPLE_DIR], db, load_config(own) if own.exists() else config)
