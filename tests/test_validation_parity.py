"""The DuckDB checks Hearth runs are compiled from the pandera models: pandera itself, run on the
same files, must reject exactly the same cells (rules that need the warehouse aside)."""

from __future__ import annotations

import io

import duckdb
import pandas as pd
import pandera.pandas as pa
import pytest

from hearth.config import Config
from hearth.instrument import load_instrument
from pipelines.ingest import ingest_paths
from pipelines.schemas import ENTITIES, schema_of
from tests.community import write_community
from tests.test_bad_input import MIXED

WAREHOUSE_RULES = ("is not in the warehouse", "cannot be their own buddy", "before joined_on")
CASES = {name: case for name, case in MIXED.items() if case[2][0] and "fields" not in (case[3] or "")}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_pandera_and_the_compiled_checks_reject_the_same_cells(case, tmp_path):
    name, text, _, _ = CASES[case]
    db = tmp_path / "w.duckdb"
    ingest_paths([write_community(tmp_path / "c")], db=db, config=Config())
    bad = tmp_path / name
    bad.write_text(text, encoding="utf-8")
    (summary,) = ingest_paths([bad], db=db, config=Config())
    con = duckdb.connect(str(db), read_only=True)
    rejected_by_sql = {
        (line - 2, column)
        for line, column, reason in con.execute(
            "SELECT line, column_name, reason FROM raw.quarantine WHERE file_name = ?", [name]
        ).fetchall()
        if not any(rule in reason for rule in WAREHOUSE_RULES) and column is not None
    }
    con.close()

    instrument = load_instrument()
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [c.lower() for c in frame.columns]
    schema = schema_of(summary.kind, instrument)
    frame = frame[[c for c in frame.columns if c in schema.columns]]
    # pandera skips a column's value checks once its coercion fails; parse numbers first so
    # both the unparseable cells and the out-of-range ones are judged, as the SQL does.
    rejected_by_pandera = set()
    for name_, column in schema.columns.items():
        if name_ in frame and str(column.dtype).lower().startswith("int"):
            parsed = pd.to_numeric(frame[name_], errors="coerce")
            bad = parsed.isna() & frame[name_].notna()
            rejected_by_pandera |= {(int(i), name_) for i in frame.index[bad]}
            frame[name_] = parsed.astype("Int64")
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        rejected_by_pandera |= {(int(i), c) for i, c in zip(cases["index"], cases["column"], strict=True)}
    assert rejected_by_sql == rejected_by_pandera
    assert summary.kind in ENTITIES
