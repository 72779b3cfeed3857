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
from tests.test_adapters_ingest import EXPORTS

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


# --- messy copies of real exports ----------------------------------------------------------------
# Every export fixture of tests/fixtures/exports, one per format and variant, made messy the way
# files are between the tool and Hearth (tests/hostile_files.py): each copy must load exactly
# what the original loads, or get one clear line; and every load reconciles.

MESSY_FIXTURES = [
    "zoom_classic/participants_84512345678.csv",
    "zoom_meeting_data/meeting_data_export.csv",
    "zoom_new/participants_new_interface.csv",
    "teams_legacy/Wednesday Lunch Circle.csv",
    "teams_2021/meetingAttendanceReport.csv",
    "teams_current/Attendance report en-GB.csv",
    "teams_current/Attendance report en-US.csv",
    "google_meet/2025-04-22 18:30 Tuesday Evening Circle - Attendance Report.csv",
    "meetup/2025-05-06 18:30 Thursday Walkers.csv",
    "luma/Thursday Walkers - Guests.csv",
    "eventbrite/2025-05-20 18:30 attendee report.csv",
    "google_forms/Hearth quarterly check-in (Responses).csv",
    "typeform/responses.csv",
    "surveymonkey/Hearth check-in.csv",
    "qualtrics/Hearth_December_2025.csv",
    "qualtrics_legacy/Hearth_check-in_legacy.csv",
    "limesurvey/results-survey246813.csv",
    "limesurvey/results-survey579135 code and text.csv",
]


@pytest.fixture(scope="module")
def roster_warehouse(built_warehouse) -> Path:
    """The export fixtures' groups and roster, loaded once; each load works on a copy."""
    from tests.test_adapters_ingest import build_roster_warehouse

    return built_warehouse("export-roster", build_roster_warehouse)


@pytest.fixture(scope="module")
def original(loaded_export):
    """``original(relative)``: (summary, what the warehouse then holds) for the export fixture
    itself loaded on a copy of the roster warehouse, once per session (`loaded_export`, shared
    with test_messy_exports): both tests below compare their copies with it."""
    return lambda relative: loaded_export(relative)[:2]


def load_copy(base: Path, path: Path, folder: Path):
    """(summary, what the warehouse then holds) for one file loaded on a copy of `base`."""
    from tests.test_adapters_ingest import CONFIG

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "w.duckdb"
    shutil.copy(base, db)
    (summary,) = ingest_paths([path], db=db, config=CONFIG)
    # one connection for the three reads: opening a warehouse costs ~40 ms CPU, the reads less
    with duckdb.connect(str(db), read_only=True) as con:
        held = con.execute("SELECT session_id, member_id, status, minutes FROM core.attendance "
                           "ORDER BY ALL").fetchall()
        held += con.execute("SELECT session_id, group_id, starts_at FROM core.sessions "
                            "ORDER BY ALL").fetchall()
        held += con.execute("SELECT r.survey_id, r.group_id, r.submitted_at, a.item_id, a.value "
                            "FROM core.survey_responses r JOIN core.survey_answers a USING "
                            "(response_id) ORDER BY ALL").fetchall()
    return summary, held


def messy_copies(relative: str) -> dict[str, tuple[str, bytes]]:
    """variant -> (file name, bytes) for one export fixture."""
    from pipelines.adapters.common import decode, sniff_delimiter
    from tests.hostile_files import MESSY_EXPORTS
    from tests.test_adapters_ingest import EXPORTS

    source = EXPORTS / relative
    text, _ = decode(source.read_bytes())
    delimiter = sniff_delimiter(text)
    copies = {name: (source.name, make(text, delimiter)) for name, make in MESSY_EXPORTS.items()}
    copies["renamed .txt"] = (source.stem + ".txt", source.read_bytes())
    copies["renamed .xls"] = (source.stem + ".xls", source.read_bytes())
    return {name: copy for name, copy in copies.items() if copy[1] is not None}


def reconciles(summary) -> bool:
    return summary.rows_read == (summary.rows_loaded + summary.rows_duplicate
                                 + summary.rows_quarantined)


@pytest.mark.parametrize("relative", MESSY_FIXTURES)
def test_a_messy_copy_of_an_export_loads_exactly_what_the_original_does(
        relative, roster_warehouse, original, tmp_path):
    as_exported, expected = original(relative)
    assert as_exported.error is None and expected, as_exported.error
    # A copy whose name and bytes are the original's (a UTF-8 file "saved as UTF-8") or an
    # earlier copy's (latin-1 and cp1252 of an ASCII file) loads exactly as that file does: the
    # load is deterministic, so its result is reused instead of loading the same bytes again
    # (50 of the 252 copies).
    source = EXPORTS / relative
    results = {(source.name, source.read_bytes()): (as_exported, expected)}
    wrong = {}
    for variant, (name, data) in messy_copies(relative).items():
        if (name, data) not in results:
            folder = tmp_path / variant.replace(" ", "_")
            (folder / "in").mkdir(parents=True)
            (folder / "in" / name).write_bytes(data)
            results[name, data] = load_copy(roster_warehouse, folder / "in" / name, folder)
        summary, held = results[name, data]
        assert reconciles(summary), (variant, summary)
        if summary.error or held != expected:
            wrong[variant] = summary.error or "loaded something else"
    assert wrong == {}


@pytest.mark.parametrize("relative", MESSY_FIXTURES)
def test_reordered_columns_load_or_get_one_line_saying_how_to_force_the_format(
        relative, roster_warehouse, original, tmp_path):
    from pipelines.adapters.common import decode, sniff_delimiter
    from tests.hostile_files import reversed_columns
    from tests.test_adapters_ingest import EXPORTS

    _, expected = original(relative)
    text, _ = decode((EXPORTS / relative).read_bytes())
    messy = tmp_path / "in" / Path(relative).name
    messy.parent.mkdir()
    messy.write_bytes(reversed_columns(text, sniff_delimiter(text)))
    summary, held = load_copy(roster_warehouse, messy, tmp_path / "messy")
    assert reconciles(summary)
    if summary.error is None:
        assert held == expected
    else:  # Google Forms and Typeform are recognised by their first column
        assert "\n" not in summary.error and "--format" in summary.error, summary.error
        assert summary.rows_loaded == 0
