"""Real exports as they arrive after a trip through people and spreadsheets: cut short, header
only, dates Excel turned into serial numbers, durations and dates written every way tools write
them, and the wrong tool's export. Each loads the right rows or gets one clear line naming the
file, the problem and the fix; nothing is lost and nothing raises.

Fast: the adapters run in process on small files (no warehouse) except where the load itself is
the point; the long generative sweep is marked slow.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearth.instrument import load_instrument
from pipelines.adapters import AdapterError, detect_format, foreign_export, parse_export
from pipelines.adapters.common import (
    decode,
    parse_datetime,
    parse_duration_minutes,
    sniff_delimiter,
)
from pipelines.ingest import ingest_paths
from tests.hostile_files import CUT_EXPORTS, pasted_twice
from tests.test_adapters_ingest import CONFIG, EXPORTS
from tests.test_hostile_input import MESSY_FIXTURES, load_copy, reconciles, roster_warehouse  # noqa: F401

INSTRUMENT = load_instrument(CONFIG)
ROSTER = pd.read_csv(EXPORTS / "roster.csv", dtype=str, keep_default_na=False)


def parse(path: Path, fmt: str | None = None):
    fmt = fmt or detect_format(path, path.read_bytes()[:65536])
    assert fmt, f"{path.name} was not recognised"
    return parse_export(path, fmt, CONFIG, ROSTER, INSTRUMENT)


def one_line_about(path: Path, message: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    assert str(path) in message, message


def export_text(relative: str) -> tuple[str, str]:
    text, _ = decode((EXPORTS / relative).read_bytes())
    return text, sniff_delimiter(text)


# --- header only, cut short ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(CUT_EXPORTS))
@pytest.mark.parametrize("relative", MESSY_FIXTURES)
def test_an_export_cut_short_or_holding_only_its_header_gets_one_line_saying_so(
        relative, variant, tmp_path):
    text, delimiter = export_text(relative)
    path = tmp_path / Path(relative).name
    path.write_bytes(CUT_EXPORTS[variant](text, delimiter))
    fmt = relative.split("/")[0]
    with pytest.raises(AdapterError) as caught:
        parse(path, fmt)
    message = str(caught.value)
    one_line_about(path, message)
    expected = "header" if variant == "header_only" else "cut short"
    assert expected in message and "again" in message, message


QUALTRICS = "qualtrics/Hearth_December_2025.csv"


@pytest.mark.parametrize("keep", ["the three header rows", "cut inside the first response"])
def test_a_truncated_qualtrics_export_is_refused_with_one_line_and_the_load_reconciles(
        keep, roster_warehouse, tmp_path):  # noqa: F811
    text, _ = export_text(QUALTRICS)
    lines = text.splitlines(keepends=True)
    cut = "".join(lines[:3]) if keep.startswith("the three") else "".join(lines[:3]) + lines[3][:40]
    path = tmp_path / "in" / "Hearth_December_2025.csv"
    path.parent.mkdir()
    path.write_text(cut, encoding="utf-8")
    summary, held = load_copy(roster_warehouse, path, tmp_path / "load")
    assert reconciles(summary) and held == []
    one_line_about(path, f"{path}: {summary.error}")
    assert ("no responses" if keep.startswith("the three") else "cut short") in summary.error


@pytest.mark.parametrize("relative", ["eventbrite/2025-05-20 18:30 attendee report.csv",
                                      "luma/Thursday Walkers - Guests.csv"])
def test_a_header_only_eventbrite_or_luma_list_says_it_holds_no_guests(
        relative, roster_warehouse, tmp_path):  # noqa: F811
    text, _ = export_text(relative)
    path = tmp_path / "in" / Path(relative).name
    path.parent.mkdir()
    path.write_text(text.splitlines()[0] + "\n", encoding="utf-8")
    summary, held = load_copy(roster_warehouse, path, tmp_path / "load")
    assert held == [] and reconciles(summary) and summary.rows_read == 0
    assert "holds its header but no participant rows" in summary.error
    assert "not mapped" not in summary.error and "file name" not in summary.error


def test_a_complete_file_without_a_final_line_end_is_not_taken_for_a_cut_one(tmp_path):
    text, _ = export_text("zoom_classic/participants_84512345678.csv")
    path = tmp_path / "participants_84512345678.csv"
    path.write_text(text.rstrip("\r\n"), encoding="utf-8")
    assert parse(path).reconciles()


ATTENDANCE_FIXTURES = [r for r in MESSY_FIXTURES
                       if r.split("/")[0] not in {"google_forms", "typeform", "surveymonkey",
                                                  "qualtrics", "qualtrics_legacy", "limesurvey"}]


@pytest.mark.parametrize("relative", ATTENDANCE_FIXTURES)
def test_an_attendance_export_pasted_twice_counts_every_stretch_once(relative, tmp_path):
    original = parse(EXPORTS / relative)
    path = tmp_path / Path(relative).name
    path.write_bytes(pasted_twice(*export_text(relative)))
    parsed = parse(path)
    assert parsed.reconciles() and parsed.rows_read > original.rows_read
    assert parsed.attendance.drop(columns="line").equals(original.attendance.drop(columns="line"))
    assert parsed.sessions.equals(original.sessions)


# --- Excel's date serials ---------------------------------------------------------------------------


def excel_serial_of(text: str, month_first: bool = True) -> str:
    """The serial number Excel shows for a date and time (days since 1899-12-30)."""
    dt, _ = parse_datetime(text, ZoneInfo("UTC"), month_first)
    days = (dt.replace(tzinfo=None) - pd.Timestamp("1899-12-30").to_pydatetime()).total_seconds() / 86400
    return f"{days:.6f}".rstrip("0").rstrip(".")


def rewrite_columns(text: str, delimiter: str, names: list[str], change) -> bytes:
    """The export with every cell under the named columns (in their table) passed through
    `change`."""
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    at = next(i for i, r in enumerate(rows) if set(names) <= set(r))
    for column in [rows[at].index(n) for n in names]:
        for row in rows[at + 1:]:
            if len(row) > column and row[column].strip():
                row[column] = change(row[column])
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize(("relative", "columns"), [
    ("zoom_classic/participants_84512345678.csv", ["Join Time", "Leave Time"]),
    ("google_forms/Hearth quarterly check-in (Responses).csv", ["Timestamp"]),
])
def test_dates_excel_turned_into_serial_numbers_load_as_the_dates_they_were(
        relative, columns, tmp_path):
    original = parse(EXPORTS / relative)
    path = tmp_path / Path(relative).name
    path.write_bytes(rewrite_columns(*export_text(relative), columns, excel_serial_of))
    parsed = parse(path)
    assert parsed.reconciles()
    assert any("Excel serial numbers" in n for n in parsed.notes), parsed.notes
    if parsed.attendance is not None:
        assert parsed.attendance.drop(columns="line").equals(original.attendance.drop(columns="line"))
        assert parsed.sessions.equals(original.sessions)
    else:  # the same responses; Excel dropped the form's zone, so times read in the program's
        assert len(parsed.survey) == len(original.survey)
        answers = [c for c in original.survey.columns if c not in {"submitted_at", "line"}]
        assert parsed.survey[answers].equals(original.survey[answers])


def test_an_excel_serial_in_a_canonical_date_column_is_named_as_excels(tmp_path):
    from tests.community import write_community

    folder = write_community(tmp_path / "in")
    members = folder / "members.csv"
    members.write_text(members.read_text(encoding="utf-8")
                       + "m90,Kai Moss,,g01,45748.5,,member,light\n", encoding="utf-8")
    summaries = ingest_paths([folder], db=tmp_path / "w.duckdb", config=CONFIG)
    (reason,) = [r for s in summaries for r in s.quarantine_reasons if r.startswith("joined_on")]
    assert "Excel saved as its serial number" in reason and "format the column as a date" in reason


# --- dates and durations as tools and spreadsheets write them --------------------------------------

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(("text", "minutes"), [
    ("1h 5m", 65), ("1h5m", 65), ("65 mins", 65), ("65 minutes", 65), ("1 hr 5 min", 65),
    ("01:05:00", 65), ("1:05", 65), ("0:45", 45), ("00:45:30.5", 45.5), ("65,5", 65.5),
    ("29m 22s", 29 + 22 / 60), ("2 h 44 m", 164), ("30 sec", 0.5), ("1.5 hours", 90),
])
def test_durations_are_read_however_the_tool_or_spreadsheet_wrote_them(text, minutes):
    assert parse_duration_minutes(text) == pytest.approx(minutes)


@pytest.mark.parametrize(("text", "month_first", "expected"), [
    ("4/1/2025 6:30 PM", True, "2025-04-01T18:30:00+01:00"),
    ("4/1/2025 6:30PM", True, "2025-04-01T18:30:00+01:00"),
    ("1/4/2025 18:30", False, "2025-04-01T18:30:00+01:00"),
    ("01.04.2025 18:30", True, "2025-04-01T18:30:00+01:00"),      # dotted: always day-first
    ("2025-04-01T17:30:00.000Z", True, "2025-04-01T17:30:00+00:00"),
    ("2025-04-01 12:30:00-05:00", True, "2025-04-01T12:30:00-05:00"),
    ("2025-04-01 18:30:00 +0100", True, "2025-04-01T18:30:00+01:00"),
    ("2025/04/01 6:30:00 PM GMT+1", True, "2025-04-01T18:30:00+01:00"),
    ("April 1, 2025 6:30 PM", True, "2025-04-01T18:30:00+01:00"),
    ("Tue, Apr 1, 2025 at 6:30 PM", False, "2025-04-01T18:30:00+01:00"),
    ("1 Apr 2025 18:30", True, "2025-04-01T18:30:00+01:00"),
    ("Apr 1st, 2025 6:30 PM EST", True, "2025-04-01T18:30:00-05:00"),
    ("45748.770833", True, "2025-04-01T18:30:00+01:00"),              # Excel serial
    ("45748,770833", True, "2025-04-01T18:30:00+01:00"),              # ... European Excel
])
def test_dates_are_read_with_their_offset_clock_and_day_order(text, month_first, expected):
    dt, _ = parse_datetime(text, LONDON, month_first)
    assert dt.replace(second=round(dt.second + dt.microsecond / 1e6) % 60, microsecond=0) \
        .isoformat() == expected


def test_a_word_that_merely_starts_like_a_month_is_not_a_date():
    with pytest.raises(ValueError, match="not a date and time"):
        parse_datetime("Mayday 1, 2025", LONDON)


# --- the wrong tool's export ------------------------------------------------------------------------


def test_a_webex_report_is_named_as_webex_not_just_as_unknown(tmp_path):
    path = EXPORTS / "not_exports" / "webex_attendees.csv"
    assert "a Webex meeting attendee report" in foreign_export(path.read_bytes())
    (summary,) = ingest_paths([path], db=tmp_path / "w.duckdb", config=CONFIG)
    assert summary.error.startswith("this looks like a Webex meeting attendee report, which Hearth "
                                    "does not read")


def test_a_zoom_webinar_report_and_forms_results_saved_as_csv_are_named(tmp_path):
    webinar = b"Attended,User Name (Original Name),First Name,Last Name,Email,Join Time,Leave Time,Time in Session (minutes)\n"
    assert "Zoom webinar attendee report" in foreign_export(webinar)
    forms = b"ID,Start time,Completion time,Email,Name,I feel I belong in my group.\n1,x,y,anonymous,,4\n"
    assert "ingest the .xlsx workbook" in foreign_export(forms)


@pytest.mark.parametrize(("relative", "forced", "shown"), [
    (QUALTRICS, "zoom_classic", "qualtrics"),
    ("luma/Thursday Walkers - Guests.csv", "eventbrite", "luma"),
    ("teams_current/Attendance report en-GB.csv", "teams_2021", "teams_current"),
])
def test_forcing_the_wrong_format_says_which_tool_the_file_looks_like(
        relative, forced, shown, roster_warehouse, tmp_path):  # noqa: F811
    db = tmp_path / "w.duckdb"
    shutil.copy(roster_warehouse, db)
    (summary,) = ingest_paths([EXPORTS / relative], db=db, config=CONFIG, fmt=forced)
    assert summary.error and "\n" not in summary.error
    assert summary.error.endswith(f"ingest it without --format, or with --format {shown}")
    assert reconciles(summary) and summary.rows_loaded == 0


# --- generative: any cut, any extra lines --------------------------------------------------------


def never_raises_and_reconciles(path: Path, fmt: str) -> None:
    try:
        parsed = parse_export(path, fmt, CONFIG, ROSTER, INSTRUMENT)
    except AdapterError as exc:
        assert "\n" not in str(exc), str(exc)
        return
    assert parsed.reconciles()


def cut_and_padded(relative: str, cut: float, junk_above: int, blank_below: int) -> bytes:
    text, _ = export_text(relative)
    text = text[: max(1, int(len(text) * cut))]
    return ("\n" * junk_above + text + "\r\n" * blank_below).encode("utf-8")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(relative=st.sampled_from(MESSY_FIXTURES), cut=st.floats(0.05, 1.0),
       junk_above=st.integers(0, 2), blank_below=st.integers(0, 3))
def test_any_cut_of_any_export_gets_rows_or_one_line(relative, cut, junk_above, blank_below,
                                                      tmp_path_factory):
    path = tmp_path_factory.mktemp("cut") / Path(relative).name
    path.write_bytes(cut_and_padded(relative, cut, junk_above, blank_below))
    never_raises_and_reconciles(path, relative.split("/")[0])


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(relative=st.sampled_from(MESSY_FIXTURES), cut=st.floats(0.0, 1.0),
       junk_above=st.integers(0, 4), blank_below=st.integers(0, 5),
       noise=st.binary(max_size=40))
def test_any_cut_with_noise_gets_rows_or_one_line_long_sweep(relative, cut, junk_above,
                                                             blank_below, noise, tmp_path_factory):
    path = tmp_path_factory.mktemp("cut") / Path(relative).name
    path.write_bytes(cut_and_padded(relative, cut, junk_above, blank_below) + noise)
    never_raises_and_reconciles(path, relative.split("/")[0])


# --- workbooks -------------------------------------------------------------------------------------

FORMS = EXPORTS / "microsoft_forms" / "Hearth check-in.xlsx"


@pytest.mark.parametrize("change", ["an empty first sheet", "a notes sheet first and a title row"])
def test_a_forms_workbook_with_other_sheets_or_a_title_row_loads_the_same(change, tmp_path):
    from openpyxl import load_workbook

    book = load_workbook(FORMS)
    if change == "an empty first sheet":
        book.create_sheet("Sheet0", 0)
    else:
        notes = book.create_sheet("Notes", 0)
        notes.append(["Exported for the quarterly review"])
        book.worksheets[1].insert_rows(1)
        book.worksheets[1]["A1"] = "Hearth check-in: results"
    path = tmp_path / FORMS.name
    book.save(path)
    assert detect_format(path, path.read_bytes()[:65536]) == "microsoft_forms"
    original, parsed = parse(FORMS), parse(path)
    assert parsed.reconciles()
    assert parsed.survey.drop(columns="line").equals(original.survey.drop(columns="line"))


def as_typed(value: str):
    """A cell as Excel types it when it opens a CSV: numbers become numbers."""
    try:
        number = float(value)
    except ValueError:
        return value
    if not math.isfinite(number) or value.strip() != value or value.startswith("0") and value != "0":
        return value
    return int(number) if number.is_integer() and "." not in value else number


def saved_as_xlsx(relative: str, path: Path, typed: bool = True) -> Path:
    from openpyxl import Workbook

    text, delimiter = export_text(relative)
    book = Workbook()
    sheet = book.active
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        sheet.append([as_typed(c) if typed else c for c in row])
    book.save(path)
    return path


@pytest.mark.parametrize("relative", MESSY_FIXTURES)
def test_an_export_opened_in_excel_and_saved_as_xlsx_loads_the_same(relative, tmp_path):
    path = saved_as_xlsx(relative, tmp_path / (Path(relative).stem + ".xlsx"))
    original = parse(EXPORTS / relative)
    assert detect_format(path, path.read_bytes()[:65536]) == relative.split("/")[0]
    parsed = parse(path)
    assert parsed.reconciles()
    for frame in ("attendance", "sessions", "survey"):
        mine, theirs = getattr(parsed, frame), getattr(original, frame)
        if theirs is None:
            assert mine is None
        else:
            assert mine.drop(columns="line", errors="ignore").equals(
                theirs.drop(columns="line", errors="ignore")), frame


def test_a_zoom_report_saved_as_xlsx_with_real_date_cells_loads_the_same(tmp_path):
    from openpyxl import load_workbook

    relative = "zoom_classic/participants_84512345678.csv"
    path = saved_as_xlsx(relative, tmp_path / "participants_84512345678.xlsx")
    book = load_workbook(path)
    sheet = book.active
    for row in sheet.iter_rows(min_row=2, max_col=4, min_col=3):
        for c in row:
            if isinstance(c.value, str) and c.value:
                c.value = parse_datetime(c.value, LONDON)[0].replace(tzinfo=None)
    book.save(path)
    original, parsed = parse(EXPORTS / relative), parse(path)
    assert parsed.attendance.drop(columns="line").equals(original.attendance.drop(columns="line"))
    assert parsed.sessions.equals(original.sessions)
