"""Input that cannot hurt: numbers that are not numbers, and item ids that are not names.

`nan`, `inf`, `-inf` and `1e309` (which floats read as inf) are bad answers like any other: set
aside one by one, the file still reconciles. An instrument item id reaches SQL as a column name,
so it must be a plain name; anything else is a configuration error before a file is read.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from hearth.config import Config
from hearth.errors import ConfigError
from hearth.instrument import load_instrument
from hearth.quoting import sql_identifier, sql_literal
from pipelines.ingest import ingest_paths
from tests.community import write_community

NOT_NUMBERS = ["nan", "inf", "-inf", "1e309", "NaN", "Infinity"]
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def stored(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_nan_inf_and_1e309_in_a_canonical_survey_are_quarantined_answer_by_answer(tmp_path):
    rows = "".join(f"2025Q2,2025-06-20T19:0{i}:00+01:00,g01,{bad},4\n"
                   for i, bad in enumerate(NOT_NUMBERS))
    write_community(tmp_path / "in", survey_responses="survey_id,submitted_at,group_id,bel_1,bel_2\n" + rows)
    db = tmp_path / "w.duckdb"
    summary = ingest_paths([tmp_path / "in"], db=db, config=Config())[-1]
    assert summary.error is None
    assert (summary.rows_read, summary.rows_loaded, summary.rows_duplicate,
            summary.rows_quarantined, summary.answers_quarantined) == (6, 6, 0, 0, 6)
    assert summary.reconciles
    assert stored(db, "SELECT DISTINCT column_name, value FROM raw.quarantine") == [("bel_1", None)]
    assert stored(db, "SELECT item_id, count(*) FROM core.survey_answers GROUP BY ALL") == [("bel_2", 6)]


def test_nan_inf_and_1e309_in_a_google_forms_export_are_out_of_range_not_a_traceback(tmp_path):
    source = SAMPLE / "exports" / "Hearth check-in (Responses).csv"
    with source.open(encoding="utf-8-sig", newline="") as handle:
        header, *answers = list(csv.reader(handle))
    for row, bad in zip(answers, NOT_NUMBERS, strict=False):
        row[3] = bad  # the first belonging item of the grid
    export = tmp_path / "in" / source.name
    export.parent.mkdir()
    with export.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *answers])
    for name in ("groups.csv", "members.csv"):
        shutil.copy(SAMPLE / name, tmp_path / "in" / name)
    from hearth.config import load_config

    summary = ingest_paths([tmp_path / "in"], db=tmp_path / "w.duckdb",
                           config=load_config(SAMPLE / "hearth.toml"))[-1]
    assert summary.error is None, summary.error
    assert summary.reconciles
    assert summary.rows_read == summary.rows_loaded + summary.rows_duplicate + summary.rows_quarantined
    assert summary.answers_quarantined >= len(NOT_NUMBERS)
    reason = next(r for r in summary.quarantine_reasons if r.startswith("bel_1:"))
    assert "outside the item's scale 1-5" in reason


@pytest.mark.parametrize("item_id", ["x') or true or ('", 'bel"1', "Bel_1", "1bel", "bel 1", ""])
def test_an_item_id_that_is_not_a_plain_name_is_a_config_error(tmp_path, item_id):
    instrument = tmp_path / "instrument.toml"
    instrument.write_text(
        "[constructs.belonging]\nscale = [1, 5]\n"
        f"items = [{{ id = {toml_string(item_id)}, text = \"I belong.\" }}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"item id .* is not a plain name; use lower-case letters"):
        load_instrument(Config(instrument_path=instrument))


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_ingest_with_an_unsafe_item_id_stops_with_one_line_and_stores_nothing(tmp_path):
    from hearth.cli import main

    instrument = tmp_path / "instrument.toml"
    instrument.write_text("[constructs.belonging]\nscale = [1, 5]\n"
                          "items = [{ id = \"x') or true or ('\", text = \"I belong.\" }]\n",
                          encoding="utf-8")
    config = tmp_path / "hearth.toml"
    config.write_text('[survey]\ninstrument = "instrument.toml"\n', encoding="utf-8")
    community = write_community(tmp_path / "in")
    db = tmp_path / "w.duckdb"
    assert main(["--db", str(db), "--config", str(config), "ingest", str(community)]) == 2
    assert not db.exists()


def test_the_one_quoting_helper_doubles_quotes():
    assert sql_literal("x') or true or ('") == "'x'') or true or ('''"
    assert sql_identifier('a"b') == '"a""b"'
