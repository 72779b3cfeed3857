"""Real exports through the whole load (issue 13): no distinct response merged away, re-exports
add nothing, and the messages a user reads say what actually happened."""

from __future__ import annotations

import io
import json
import shutil
import stat
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from hearth import cli
from hearth.config import Config
from pipelines.adapters import FORMATS, detect_format
from pipelines.ingest import ingest_paths
from pipelines.report import format_summaries

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
CONFIG = Config(
    time_zone="Europe/London",
    meetings={"84512345678": "g01", "Tuesday Evening Circle": "g01", "Thursday Walkers": "g02",
              "Wednesday Lunch Circle": "g03", "84598765432": "g04", "84511112222": "g04",
              "Cercle du mardi": "g04", "Kamis semicolon": "g04", "Friday Walk": "g02",
              "84522223333": "g04", "84533334444": "g04", "84544445555": "g04",
              "845 5555 6666": "g04",
              "Book Club": "g99"},
    question_aliases={"Q1[SQ001]": "bel_1", "Q1[SQ002]": "bel_2", "Q2": "lon_2",
                      "Q3": "group_id", "Q4": "comment"},
)
GROUPS = """group_id,name,modality,language,time_zone,cadence_days,coach,started_on,cohort
g01,Tuesday Evening Circle,video,en,Europe/London,7,Priya Shah,2025-01-07,pilot
g02,Thursday Walkers,in_person,en,Europe/London,7,Priya Shah,2025-01-09,pilot
g03,Wednesday Lunch Circle,video,en,America/New_York,7,Sam Coach,2021-01-06,pilot
g04,Polyglots,video,fr,Europe/Paris,7,Sam Coach,2020-01-06,pilot
"""


def make_warehouse(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "groups.csv").write_text(GROUPS, encoding="utf-8")
    roster = pd.read_csv(EXPORTS / "roster.csv", dtype=str, keep_default_na=False)
    roster.assign(role="member", tier="standard").to_csv(folder / "members.csv", index=False)
    db = folder / "hearth.duckdb"
    summaries = ingest_paths([folder / "groups.csv", folder / "members.csv"], db=db, config=CONFIG)
    assert [(s.error, s.rows_quarantined) for s in summaries] == [(None, 0), (None, 0)]
    return db


@pytest.fixture()
def warehouse(built_warehouse) -> Path:
    """A private copy of `make_warehouse`'s, built once per session. (A test that needs a
    warehouse with a key of its own, like `other` below, calls make_warehouse itself.)"""
    return built_warehouse("export-roster-real", lambda db: make_warehouse(db.parent))


def ingest(db: Path, *paths: Path):
    summaries = ingest_paths(list(paths), db=db, config=CONFIG)
    assert [s.error for s in summaries] == [None] * len(summaries)
    assert all(s.reconciles for s in summaries)
    return summaries


def counts(s) -> tuple[int, int, int, int]:
    return (s.rows_read, s.rows_loaded, s.rows_duplicate, s.rows_quarantined)


def resaved(source: Path, folder: Path) -> Path:
    """The same export downloaded again: other bytes (a trailing empty line), same content."""
    folder.mkdir(exist_ok=True)
    target = folder / source.name
    raw = source.read_bytes()
    target.write_bytes(raw + ("\r\n".encode("utf-16-le") if raw.startswith(b"\xff\xfe")
                              else b"\r\n"))
    return target


def response_ids(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r for (r,) in con.execute(
            "SELECT response_id FROM core.survey_responses ORDER BY response_id").fetchall()]


# --- 5. no distinct response merged away ------------------------------------------------------


def test_two_people_answering_alike_in_the_same_second_are_two_responses(warehouse, tmp_path):
    first = EXPORTS / "google_forms/Same second (Responses).csv"
    (summary,) = ingest(warehouse, first)
    assert counts(summary) == (3, 3, 0, 0)
    # The same file downloaded again adds nothing ...
    (again,) = ingest(warehouse, resaved(first, tmp_path / "again"))
    assert counts(again) == (3, 0, 3, 0)
    # ... and a later export adds only what is new: a third identical answer and another one.
    (later,) = ingest(warehouse, EXPORTS / "google_forms/Same second re-export (Responses).csv")
    assert counts(later) == (5, 2, 3, 0)
    assert len(response_ids(warehouse)) == 5


def test_the_tools_response_id_tells_responses_apart_and_is_stored_only_keyed(warehouse, tmp_path):
    # SurveyMonkey writes minutes: two respondents with the same answers in the same minute.
    first = EXPORTS / "surveymonkey/Same minute.csv"
    (summary,) = ingest(warehouse, first)
    assert counts(summary) == (2, 2, 0, 0)
    (again,) = ingest(warehouse, resaved(first, tmp_path / "again"))
    assert counts(again) == (2, 0, 2, 0)
    (later,) = ingest(warehouse, EXPORTS / "surveymonkey/Same minute re-export.csv")
    assert counts(later) == (3, 1, 2, 0)
    ids = response_ids(warehouse)
    assert len(ids) == 3 and all(len(i) == 64 for i in ids)  # HMAC-SHA256, hex
    assert not any(raw in i for i in ids for raw in ("114227470001", "114227470002"))
    # The key lives beside the warehouse, never in it (the snapshot is a copy of the warehouse),
    # readable by its owner only; another warehouse has another key, so other hashes.
    key = Path(f"{warehouse}.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    other = make_warehouse(tmp_path / "other")
    ingest(other, first)
    assert set(response_ids(other)).isdisjoint(ids)


LOADABLE = sorted(
    p for p in EXPORTS.glob("*/*") if p.parent.name in FORMATS and p.suffix in {".csv", ".xlsx"}
    and "before the event" not in p.name
)


def test_every_fixture_loads_and_loading_it_again_adds_nothing(warehouse, tmp_path):
    assert len(LOADABLE) >= 25
    first = ingest(warehouse, *LOADABLE)
    # (The "Same …" pairs are an export and its re-export: whichever loads second adds less.)
    assert all(s.rows_loaded > 0 for s in first if "Same " not in s.file)
    again = ingest(warehouse, *[resaved(p, tmp_path / f"again{i}") if p.suffix == ".csv" else p
                                for i, p in enumerate(LOADABLE)])
    assert [(Path(s.file).name, s.rows_loaded) for s in again] == [
        (Path(s.file).name, 0) for s in again]


# --- 7. messages that said the wrong thing ------------------------------------------------------


def test_a_luma_list_without_check_ins_says_so_and_loads_no_attendance(warehouse):
    path = EXPORTS / "luma/Friday Walk - Guests before the event.csv"
    assert detect_format(path, path.read_bytes()) == "luma"
    (summary,) = ingest_paths([path], db=warehouse, config=CONFIG)
    assert summary.error == (
        "this Luma guest list has no check-ins (checked_in_at is empty for every one of its 3 "
        "guests), so it says nothing about who came; no attendance loaded. Check guests in on "
        "Luma (at the door or afterwards) and download the guest list again")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.sessions").fetchone() == (0,)


def test_a_meeting_mapped_to_a_group_that_does_not_exist_is_refused(warehouse, tmp_path):
    export = tmp_path / "meeting_data_export.csv"
    export.write_text(
        (EXPORTS / "zoom_meeting_data/meeting_data_export.csv").read_text(encoding="utf-8")
        .replace("845 1234 5678,Tuesday Evening Circle", "912 3456 7890,Book Club"),
        encoding="utf-8",
    )
    (summary,) = ingest_paths([export], db=warehouse, config=CONFIG)
    assert summary.error == (
        "the meeting is mapped to group 'g99' (under [meetings] in hearth.toml, or by its "
        "title), but no group 'g99' has been loaded; correct the [meetings] entry to an "
        "existing group_id, or ingest a groups.csv with that group first")


def test_an_unrecognised_utf16_file_is_not_told_to_resave_as_utf8(warehouse, tmp_path):
    odd = tmp_path / "Bericht.csv"
    odd.write_bytes("Teilnehmer\tBeitritt\tAustritt\nAna\t09:00\t10:00\n".encode("utf-16"))
    (summary,) = ingest_paths([odd], db=warehouse, config=CONFIG)
    assert "UTF-8" not in summary.error
    assert summary.error.startswith("file is UTF-16 text, as Microsoft Teams writes its "
                                    "attendance reports, but its header rows match no export")
    assert "--format teams_current" in summary.error


def test_a_first_load_where_every_row_was_quarantined_says_so(warehouse, tmp_path):
    bad = tmp_path / "attendance.csv"
    bad.write_text("session_id,member_id,status,minutes\ng01-2025-04-01,m01,maybe,60\n",
                   encoding="utf-8")
    summaries = ingest_paths([bad], db=warehouse, config=CONFIG)
    last = format_summaries(summaries).splitlines()[-1]
    assert last == ("1 file(s): 0 rows loaded (nothing loaded: 1 rows quarantined, for the "
                    "reasons above; fix them and ingest again)")


def test_answers_set_aside_are_reported_only_for_responses_that_loaded(warehouse, tmp_path):
    survey = tmp_path / "survey_responses.csv"
    survey.write_text("survey_id,submitted_at,group_id,bel_1,bel_2\n"
                      "2025Q2,2025-05-01T10:00:00+01:00,g01,4,9\n", encoding="utf-8")
    (first,) = ingest(warehouse, survey)
    assert (first.rows_loaded, first.answers_quarantined) == (1, 1)
    assert "1 single answers set aside (the rest of those responses loaded)" in \
        format_summaries([first])
    copy = tmp_path / "copy" / "survey_responses.csv"
    copy.parent.mkdir()
    shutil.copyfile(survey, copy)
    copy.write_bytes(copy.read_bytes() + b"\n")
    (again,) = ingest(warehouse, copy)
    assert (again.rows_loaded, again.rows_duplicate, again.answers_quarantined) == (0, 1, 0)
    assert "set aside" not in format_summaries([again])


# --- 8. progress on long loads, on a terminal only ---------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def cli_ingest(monkeypatch, tmp_path, *extra: str) -> tuple[str, str]:
    """`hearth ingest` of two files with stderr a terminal and every file counted as long."""
    db = make_warehouse(tmp_path / "cli")
    stdout, stderr = io.StringIO(), Terminal()
    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0)
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    files = [str(EXPORTS / "zoom_classic/participants_84512345678.csv"),
             str(EXPORTS / "google_forms/Same second (Responses).csv")]
    config = tmp_path / "hearth.toml"
    config.write_text('[program]\ntime_zone = "Europe/London"\n[meetings]\n"84512345678" = "g01"\n',
                      encoding="utf-8")
    cli.main(["--db", str(db), "--config", str(config), "ingest", "--no-refresh", *extra, *files])
    return stdout.getvalue(), stderr.getvalue()


def test_a_long_load_shows_progress_per_file_on_a_terminal(monkeypatch, tmp_path):
    out, err = cli_ingest(monkeypatch, tmp_path)
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("loading participants_84512345678.csv (0.0 MB, file 1 of 2)… "
                               "9 rows read in ")
    assert lines[1].startswith("loading Same second (Responses).csv (0.0 MB, file 2 of 2)… "
                               "3 rows read in ")
    assert "loading" not in out


def test_json_output_never_carries_progress(monkeypatch, tmp_path):
    out, err = cli_ingest(monkeypatch, tmp_path, "--json")
    assert err == ""
    assert [s["rows_read"] for s in json.loads(out)] == [9, 3]


def test_a_quick_file_shows_no_progress():
    stream = Terminal()
    progress = cli.TerminalProgress(stream, delay=60)
    progress.started(EXPORTS / "roster.csv", 1, 1)
    progress.finished(SimpleNamespace(error=None, rows_read=19))
    assert stream.getvalue() == ""
