"""Tool exports through `hearth ingest`: anonymous in the warehouse, idempotent on re-export."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hearth.config import Config
from pipelines.ingest import ingest_paths

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
CONFIG = Config(
    time_zone="Europe/London",
    meetings={"84512345678": "g01", "Tuesday Evening Circle": "g01", "Thursday Walkers": "g02",
              "Wednesday Lunch Circle": "g03"},
    question_aliases={"Q1[SQ001]": "bel_1", "Q1[SQ002]": "bel_2", "Q2": "lon_2",
                      "Q3": "group_id", "Q4": "comment"},
)
GROUPS = """group_id,name,modality,language,time_zone,cadence_days,coach,started_on,cohort
g01,Tuesday Evening Circle,video,en,Europe/London,7,Priya Shah,2025-01-07,pilot
g02,Thursday Walkers,in_person,en,Europe/London,7,Priya Shah,2025-01-09,pilot
g03,Wednesday Lunch Circle,video,en,America/New_York,7,Sam Coach,2021-01-06,pilot
g04,Polyglots,video,fr,Europe/Paris,7,Sam Coach,2020-01-06,pilot
"""
# Each survey fixture and the identifying columns it carries (header row, data from row n).
SURVEYS = {
    "google_forms/Hearth quarterly check-in (Responses).csv": (["Email Address"], 1),
    "typeform/responses.csv": (["#", "Network ID"], 1),
    "surveymonkey/Hearth check-in.csv": (
        ["Respondent ID", "Collector ID", "IP Address", "Email Address", "First Name",
         "Last Name", "Custom Data 1"], 2),
    "qualtrics/Hearth_December_2025.csv": (
        ["IPAddress", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
         "ExternalReference", "LocationLatitude", "LocationLongitude"], 3),
    "limesurvey/results-survey246813.csv": (["ipaddr", "refurl"], 1),
}


def build_roster_warehouse(db: Path) -> None:
    """The fixture community's groups and members (GROUPS, fixtures/exports/roster.csv) loaded
    into ``db``; no survey yet, so no response key."""
    (db.parent / "groups.csv").write_text(GROUPS, encoding="utf-8")
    roster = pd.read_csv(EXPORTS / "roster.csv", dtype=str, keep_default_na=False)
    members = roster.assign(role="member", tier="standard")
    members.to_csv(db.parent / "members.csv", index=False)
    summaries = ingest_paths([db.parent / "groups.csv", db.parent / "members.csv"], db=db,
                             config=CONFIG)
    assert [s.error for s in summaries] == [None, None]


@pytest.fixture()
def warehouse(built_warehouse) -> Path:
    """A warehouse holding the fixture community's groups and members (a private copy of one
    built once per session)."""
    return built_warehouse("export-roster", build_roster_warehouse)


def ingest(db: Path, *paths: Path):
    summaries = ingest_paths(list(paths), db=db, config=CONFIG)
    assert [s.error for s in summaries] == [None] * len(summaries)
    assert all(s.reconciles for s in summaries)
    return summaries


def identifying_values() -> set[str]:
    values: set[str] = set()
    for relative, (columns, first_data_row) in SURVEYS.items():
        with (EXPORTS / relative).open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        header = rows[0]
        for row in rows[first_data_row:]:
            values |= {row[header.index(c)].strip() for c in columns if row[header.index(c)].strip()}
    forms = pd.read_excel(EXPORTS / "microsoft_forms/Hearth check-in.xlsx", engine="calamine",
                          dtype=str)
    for column in ("Email", "Name"):
        values |= {v for v in forms[column].dropna() if v != "anonymous"}
    return values


def every_text_cell(db: Path) -> list[tuple[str, str]]:
    """(table.column, value as text) for every cell of every table of every schema."""
    found = []
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        for schema, table, column in columns:
            cells = con.execute(
                f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}" '
                f'WHERE "{column}" IS NOT NULL'
            ).fetchall()
            found += [(f"{schema}.{table}.{column}", v) for (v,) in cells]
    return found


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("core.sessions", "core.attendance", "core.survey_responses",
                          "core.survey_answers")
        }


def test_survey_exports_leave_no_identifying_value_anywhere_in_the_warehouse(warehouse):
    paths = [EXPORTS / relative for relative in SURVEYS]
    summaries = ingest(warehouse, *paths, EXPORTS / "microsoft_forms/Hearth check-in.xlsx")
    assert sum(s.rows_loaded for s in summaries) == 14
    secrets = identifying_values()
    assert len(secrets) > 40  # emails, IP addresses, names, coordinates, respondent ids
    leaks = [(where, secret) for where, value in every_text_cell(warehouse)
             for secret in secrets if secret in value]
    assert leaks == []


def test_reingesting_the_same_survey_export_adds_nothing(warehouse, tmp_path):
    export = EXPORTS / "google_forms/Hearth quarterly check-in (Responses).csv"
    ingest(warehouse, export)
    before = counts(warehouse)
    copy = tmp_path / "downloaded again.csv"
    shutil.copy(export, copy)
    again = ingest(warehouse, export, copy)
    assert [s.rows_loaded for s in again] == [0, 0]
    assert all(s.already_loaded for s in again)
    assert counts(warehouse) == before


def test_a_later_download_of_the_same_form_adds_only_the_new_response(warehouse, tmp_path):
    export = EXPORTS / "google_forms/Hearth quarterly check-in (Responses).csv"
    ingest(warehouse, export)
    before = counts(warehouse)
    later = tmp_path / "Hearth quarterly check-in (Responses) (1).csv"
    later.write_text(
        export.read_text(encoding="utf-8")
        + '"2025/07/09 8:00:00 PM GMT","","g01","Agree","Agree","Disagree","Often","2",""\n',
        encoding="utf-8",
    )
    (summary,) = ingest(warehouse, later)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_duplicate) == (4, 1, 3)
    after = counts(warehouse)
    assert after["core.survey_responses"] == before["core.survey_responses"] + 1


def test_two_overlapping_exports_of_one_meeting_count_it_once(warehouse, tmp_path):
    ingest(warehouse, EXPORTS / "zoom_meeting_data/meeting_data_export.csv")
    before = counts(warehouse)
    # The same meeting exported again as a classic report: Chen's hour now in two stretches.
    overlap = tmp_path / "participants_84512345678.csv"
    overlap.write_text(
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
        "Ada Okafor,ada.okafor@example.org,04/08/2025 06:25:12 PM,04/08/2025 07:35:40 PM,71,No\n"
        "Chen Wei,chen.wei@example.org,04/08/2025 06:30:00 PM,04/08/2025 07:00:00 PM,30,No\n"
        "Chen Wei,chen.wei@example.org,04/08/2025 06:55:00 PM,04/08/2025 07:30:00 PM,35,No\n"
        "Bruno Díaz,bruno.diaz@gmail.com,04/08/2025 06:40:00 PM,04/08/2025 07:35:00 PM,55,No\n",
        encoding="utf-8",
    )
    (summary,) = ingest(warehouse, overlap)
    assert summary.rows_loaded == 0
    assert counts(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT member_id, minutes FROM core.attendance WHERE session_id = 'g01-2025-04-08' "
            "ORDER BY member_id"
        ).fetchall()
    assert rows == [("m01", 70), ("m02", 55), ("m03", 60)]


def test_an_unmapped_meeting_is_refused_with_the_line_to_add(warehouse, tmp_path):
    export = tmp_path / "book club.csv"
    export.write_text(
        (EXPORTS / "zoom_meeting_data/meeting_data_export.csv").read_text(encoding="utf-8")
        .replace("845 1234 5678,Tuesday Evening Circle", "912 3456 7890,Book Club"),
        encoding="utf-8",
    )
    (summary,) = ingest_paths([export], db=warehouse, config=Config())
    assert summary.error.endswith(
        "meeting id 912 3456 7890 ('Book Club') is not mapped to a group; add the "
        'line "912 3456 7890" = "<group_id>" under [meetings] in hearth.toml and ingest the '
        "file again"
    )
    assert counts(warehouse)["core.sessions"] == 0


def test_a_meeting_titled_with_a_groups_name_maps_to_it_and_says_so(warehouse):
    export = EXPORTS / "zoom_meeting_data/meeting_data_export.csv"
    (summary,) = ingest_paths([export], db=warehouse, config=Config())
    assert summary.error is None
    assert summary.rows_loaded == 3
    assert ("meeting id 845 1234 5678 ('Tuesday Evening Circle') has the name of group g01; map "
            "it under [meetings] in hearth.toml to make that explicit") in summary.notes
