"""Every export format, made messy the way files are between the tool and Hearth
(tests/messy_exports.py generates the variants), through `hearth ingest` in process.

Each variant loads exactly what the original loads, or gets one line naming the file, the
problem and the fix; every load reconciles (rows read = loaded + duplicates + quarantined).
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hearth.config import Config
from hearth.instrument import label_key, load_instrument
from pipelines.adapters import AdapterError, detect_format, parse_export
from pipelines.adapters.common import decode, sniff_delimiter
from tests.messy_exports import (
    another_week_pasted_below,
    dates_en_gb,
    dates_german,
    emails_shouted,
    empty_columns,
    european_excel,
    excel_minutes_resave,
    header_upper_spaced,
    notes_around,
    ods_bytes,
    rows_of,
    saved_as_ods,
    table_span,
    trailing_separators,
    variants_for,
    write_rows,
)
from tests.test_adapters_ingest import CONFIG, EXPORTS
from tests.test_hostile_input import MESSY_FIXTURES, load_copy, reconciles, roster_warehouse  # noqa: F401

INSTRUMENT = load_instrument(CONFIG)
ROSTER = pd.read_csv(EXPORTS / "roster.csv", dtype=str, keep_default_na=False)
VARIANTS = variants_for(ROSTER["name"].tolist())


def parse(path: Path, config: Config = CONFIG):
    fmt = detect_format(path, path.read_bytes()[:65536])
    assert fmt, f"{path.name} was not recognised"
    return fmt, parse_export(path, fmt, config, ROSTER, load_instrument(config))


def loaded(parsed) -> list[str]:
    """What a parse would load, without line numbers (a messy copy moves rows about)."""
    frame = parsed.attendance if parsed.kind == "attendance" else parsed.survey
    out = [frame.drop(columns="line").to_csv(index=False)]
    return out + ([parsed.sessions.to_csv(index=False)] if parsed.sessions is not None else [])


def export_text(relative: str) -> tuple[str, str]:
    text, _ = decode((EXPORTS / relative).read_bytes())
    return text, sniff_delimiter(text)


def write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def one_line_about(path: Path, message: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    assert str(path) in message, message


# Exports in other interface languages (French and Indonesian Teams, Italian and Spanish Zoom),
# their meetings mapped to a group.
OTHER_LANGUAGES = {
    "teams_2021/Cercle du mardi.csv": "Cercle du mardi",
    "teams_2021/Kamis semicolon.csv": "Kamis semicolon",
    "zoom_new/partecipanti_italiano.csv": "845 5555 6666",
    "zoom_classic/participants_84522223333.csv": "84522223333",
}
SWEEP_CONFIG = Config(time_zone=CONFIG.time_zone, question_aliases=CONFIG.question_aliases,
                      meetings={**CONFIG.meetings, **dict.fromkeys(OTHER_LANGUAGES.values(), "g04")})


@pytest.mark.parametrize("relative", MESSY_FIXTURES + list(OTHER_LANGUAGES))
def test_every_messy_variant_of_an_export_reads_as_the_original(relative, tmp_path):
    source = EXPORTS / relative
    fmt, original = parse(source, SWEEP_CONFIG)
    text, delimiter = export_text(relative)
    wrong = {}
    for name, variant in VARIANTS.items():
        data = variant(text, delimiter)
        if data is None:  # nothing in this export for the variant to change
            continue
        path = write(tmp_path / re.sub(r"\W+", "_", name), source.name, data)
        found, parsed = parse(path, SWEEP_CONFIG)
        if found != fmt or not parsed.reconciles() or loaded(parsed) != loaded(original):
            wrong[name] = found
    assert wrong == {}


def messiest(text: str, delimiter: str) -> bytes:
    """Everything at once: header in capitals, empty columns, trailing separators, notes around
    the table, emails in capitals, then saved by a European Excel (; CRLF cp1252)."""
    for step in (header_upper_spaced, empty_columns, trailing_separators, notes_around,
                 emails_shouted):
        data = step(text, delimiter)
        if data is not None:
            text, _ = decode(data)
    return european_excel(text, delimiter)


@pytest.mark.parametrize("relative", MESSY_FIXTURES)
def test_the_messiest_copy_loads_through_ingest_as_the_original_and_adds_nothing_after_it(
        relative, roster_warehouse, loaded_export, tmp_path):  # noqa: F811
    original, expected, loaded = loaded_export(relative)  # the export itself, loaded once
    assert original.error is None and expected
    messy = write(tmp_path / "in", Path(relative).name, messiest(*export_text(relative)))
    summary, held = load_copy(roster_warehouse, messy, tmp_path / "messy")
    assert summary.error is None and reconciles(summary), summary.error
    assert held == expected
    # An overlapping re-export: the messy copy after the original adds nothing (on a copy of
    # the original's warehouse and the response key its load made)
    from pipelines.ingest import ingest_paths

    (tmp_path / "original").mkdir()
    for path in loaded.iterdir():
        if path.is_file():
            shutil.copy2(path, tmp_path / "original" / path.name)
    db = tmp_path / "original" / "w.duckdb"
    (again,) = ingest_paths([messy], db=db, config=CONFIG)
    assert again.error is None and reconciles(again) and again.rows_loaded == 0, again


# --- an Excel re-save after the original -------------------------------------------------------


@pytest.mark.parametrize("relative", MESSY_FIXTURES)
def test_an_excel_resave_that_lost_seconds_and_ids_adds_nothing_after_the_original(
        relative, loaded_export, tmp_path):
    # Before: the survey copies counted every response twice (Qualtrics, Typeform; SurveyMonkey
    # and LimeSurvey whose ids or times Excel rewrote), their identity lost with the seconds.
    data = excel_minutes_resave(*export_text(relative))
    if data is None:
        return
    # the original loaded on the roster once per session (`loaded_export`), copied with the
    # response key its load made
    original, expected, loaded = loaded_export(relative)
    assert original.error is None and expected, original.error
    (tmp_path / "original").mkdir()
    for path in loaded.iterdir():
        if path.is_file():
            shutil.copy2(path, tmp_path / "original" / path.name)
    copy = write(tmp_path / "in", Path(relative).name, data)
    from pipelines.ingest import ingest_paths

    (again,) = ingest_paths([copy], db=tmp_path / "original" / "w.duckdb", config=CONFIG)
    assert again.error is None and reconciles(again), again
    assert again.rows_loaded == 0, again


# --- two meetings in one file -------------------------------------------------------------------

# Exports whose table dates every join (Meet's times of day, and the event lists dated by
# their file name, cannot show a second meeting).
JOIN_DATED = [r for r in MESSY_FIXTURES + list(OTHER_LANGUAGES)
              if r.split("/")[0] in {"zoom_classic", "zoom_meeting_data", "zoom_new",
                                     "teams_legacy", "teams_2021", "teams_current"}]


@pytest.mark.parametrize("relative", JOIN_DATED)
def test_next_weeks_export_pasted_below_gets_one_line_not_a_week_long_meeting(relative, tmp_path):
    # Read as one session it made a 10,000-minute meeting and summed both weeks' minutes.
    data = another_week_pasted_below(*export_text(relative))
    path = write(tmp_path, Path(relative).name, data)
    with pytest.raises(AdapterError) as caught:
        parse(path, SWEEP_CONFIG)
    one_line_about(path, str(caught.value))
    assert "more than one meeting" in str(caught.value) and " and " in str(caught.value)


def test_two_meetings_in_one_file_load_nothing_through_ingest(roster_warehouse, tmp_path):  # noqa: F811
    relative = "zoom_classic/participants_84512345678.csv"
    path = write(tmp_path / "in", Path(relative).name,
                 another_week_pasted_below(*export_text(relative)))
    summary, held = load_copy(roster_warehouse, path, tmp_path / "load")
    assert held == [] and reconciles(summary)
    one_line_about(path, f"{path}: {summary.error}")
    assert "joined on 2025-04-01 and 2025-04-08" in summary.error


# --- Google Meet's report downloaded from its Sheet --------------------------------------------

MEET = "google_meet/2025-04-22 18:30 Tuesday Evening Circle - Attendance Report.csv"


@pytest.mark.parametrize("name", [
    "2025-04-22 18:30 Tuesday Evening Circle - Attendance Report - Sheet1.csv",
    "2025-04-22 18_30 Tuesday Evening Circle - Attendance Report - Sheet1 (1).csv",
    "2025-04-22 18:30 Tuesday Evening Circle - Attendance Report (2).csv",
])
def test_a_meet_report_named_by_a_sheets_download_or_a_browser_reads_as_the_original(
        name, tmp_path):
    _, original = parse(EXPORTS / MEET)
    _, parsed = parse(write(tmp_path, name, (EXPORTS / MEET).read_bytes()))
    assert loaded(parsed) == loaded(original)


# --- saved as OpenDocument (.ods) ----------------------------------------------------------------


@pytest.mark.parametrize("relative", MESSY_FIXTURES)
def test_an_export_saved_as_ods_reads_as_the_original(relative, tmp_path):
    fmt, original = parse(EXPORTS / relative)
    path = write(tmp_path, Path(relative).stem + ".ods", saved_as_ods(*export_text(relative)))
    found, parsed = parse(path)
    assert found == fmt and parsed.reconciles()
    assert loaded(parsed) == loaded(original)


def test_an_ods_in_a_folder_loads_and_a_repeat_bomb_gets_one_line(
        roster_warehouse, loaded_export, tmp_path):  # noqa: F811
    import zipfile

    relative = "zoom_classic/participants_84512345678.csv"
    _, expected, _ = loaded_export(relative)  # the original, loaded once per session
    write(tmp_path / "in", "participants_84512345678.ods", ods_bytes(
        rows_of(*export_text(relative)), sheets_before=1))
    summary, held = load_copy(roster_warehouse, tmp_path / "in", tmp_path / "ods")
    assert summary.error is None and reconciles(summary) and held == expected
    # A few bytes standing for 6,000 x 16,000 cells: refused before any reader opens it.
    data = ods_bytes([["Name (Original Name)", "Join Time", "Leave Time"]])
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        content = archive.read("content.xml").decode()
    bomb = ('<table:table-row table:number-rows-repeated="6000"><table:table-cell '
            'table:number-columns-repeated="16000" office:value-type="string"><text:p>x</text:p>'
            "</table:table-cell></table:table-row></table:table>")
    path = tmp_path / "bomb" / "participants_84512345678.ods"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content.replace("</table:table>", bomb))
    summary, held = load_copy(roster_warehouse, path, tmp_path / "bomb-load")
    assert held == [] and "6,001 rows x 16,000 columns" in summary.error
    one_line_about(path, f"{path}: {summary.error}")


# --- the same tool's other report ---------------------------------------------------------------

OTHER_REPORTS = {
    "Zoom's list of meetings": (
        "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants\n"
        "84512345678,Tuesday Evening Circle,04/01/2025 06:28 PM,04/01/2025 07:35 PM,"
        "host@example.org,67,6\n", "Participants number"),
    "an Eventbrite orders report": (
        "Order #,Order Date,First Name,Last Name,Email,Quantity,Ticket Type,Total Paid\n"
        "1234567890,2025-05-01 10:00,Ann,Lee,ann.lee@example.org,1,General,0\n",
        "Attendee summary"),
}


@pytest.mark.parametrize("what", list(OTHER_REPORTS))
def test_the_same_tools_other_report_is_named_with_the_report_to_export(
        what, roster_warehouse, tmp_path):  # noqa: F811
    text, fix = OTHER_REPORTS[what]
    path = write(tmp_path / "in", "export.csv", text.encode())
    summary, held = load_copy(roster_warehouse, path, tmp_path / "load")
    assert held == [] and reconciles(summary)
    one_line_about(path, f"{path}: {summary.error}")
    assert what in summary.error and fix in summary.error
    assert not re.search(r"@|Ann|Lee|1234567890", summary.error)


# --- a column taken out ----------------------------------------------------------------------

# The column each export is recognised by, as the tool writes it. (Teams' current report is
# read from either of its two tables, so one table losing a column still loads.)
KEY_COLUMNS = {
    "zoom_classic": "Leave Time", "zoom_meeting_data": "Join Time", "zoom_new": "Join time",
    "teams_legacy": "User Action", "teams_2021": "Join Time",
    "google_meet": "Time joined", "meetup": "Attendance", "luma": "checked_in_at",
    "eventbrite": "Attendee Status", "surveymonkey": "Collector ID", "qualtrics": "Finished",
    "qualtrics_legacy": "V4", "limesurvey": "lastpage",
}


@pytest.mark.parametrize("relative", [r for r in MESSY_FIXTURES
                                      if r.split("/")[0] in KEY_COLUMNS
                                      and "code and text" not in r])
def test_an_export_missing_the_column_it_is_recognised_by_gets_one_line_naming_it(
        relative, roster_warehouse, tmp_path):  # noqa: F811
    fmt = relative.split("/")[0]
    text, delimiter = export_text(relative)
    rows = rows_of(text, delimiter)
    a, b = table_span(rows)
    at = [c.strip() for c in rows[a]].index(KEY_COLUMNS[fmt])
    cut = [r[:at] + r[at + 1:] if a <= k < b else r for k, r in enumerate(rows)]
    path = write(tmp_path / "in", Path(relative).name, write_rows(cut, delimiter).encode())
    summary, held = load_copy(roster_warehouse, path, tmp_path / "load")
    assert held == [] and reconciles(summary)
    message = f"{path}: {summary.error}"
    one_line_about(path, message)
    assert repr(KEY_COLUMNS[fmt].lower()) in message and f"--format {fmt}" in message, message


# --- survey tools' header rows ---------------------------------------------------------------

QUALTRICS = "qualtrics/Hearth_December_2025.csv"


@pytest.mark.parametrize("keep", [(0,), (0, 2), (0, 2, 1)],
                         ids=["ids only", "ImportId row first", "ImportId row before texts"])
def test_qualtrics_with_header_rows_removed_or_swapped_loads_the_same_answers(keep, tmp_path):
    _, original = parse(EXPORTS / QUALTRICS)
    text, delimiter = export_text(QUALTRICS)
    rows = rows_of(text, delimiter)
    path = write(tmp_path, "Hearth_December_2025.csv",
                 write_rows([rows[i] for i in keep] + rows[3:], delimiter).encode())
    config = CONFIG
    if 1 not in keep:  # no question texts: the message says how to name the columns by id
        with pytest.raises(AdapterError) as caught:
            parse(path)
        one_line_about(path, str(caught.value))
        assert "[survey.aliases]" in str(caught.value) and "'Q5_1'" in str(caught.value)
        config = Config(time_zone=CONFIG.time_zone, question_aliases={
            "Q5_1": "bel_1", "Q5_2": "bel_4", "Q6": "lon_2", "Q7": "group_id", "Q8": "comment"})
    _, parsed = parse(path, config)
    assert parsed.reconciles()
    answers = [c for c in original.survey.columns if c not in {"submitted_at", "line"}]
    assert parsed.survey[answers].equals(original.survey[answers])
    if 2 not in keep:  # without the ImportId row the export names no zone: said so
        assert any("program.time_zone" in n for n in parsed.notes), parsed.notes


SURVEYMONKEY = "surveymonkey/Hearth check-in.csv"


def identifying_values(relative: str, columns: list[str], first_data_row: int) -> set[str]:
    text, delimiter = export_text(relative)
    rows = rows_of(text, delimiter)
    return {r[rows[0].index(c)].strip() for r in rows[first_data_row:] for c in columns
            if len(r) > rows[0].index(c) and r[rows[0].index(c)].strip()}


@pytest.mark.parametrize("removed", [0, 1], ids=["question row", "Response row"])
def test_surveymonkey_with_a_header_row_removed_never_shows_an_identifying_value(
        removed, roster_warehouse, tmp_path):  # noqa: F811
    text, delimiter = export_text(SURVEYMONKEY)
    rows = rows_of(text, delimiter)
    secret = identifying_values(SURVEYMONKEY, ["Respondent ID", "IP Address", "Email Address",
                                               "First Name", "Last Name", "Custom Data 1"], 2)
    path = write(tmp_path / "in", "Hearth check-in.csv",
                 write_rows(rows[:removed] + rows[removed + 1:], delimiter).encode())
    summary, held = load_copy(roster_warehouse, path, tmp_path / "load")
    assert reconciles(summary)
    shown = " ".join([summary.error or "", *summary.notes, *summary.quarantine_reasons,
                      *(str(v) for row in held for v in row)])
    assert not [s for s in secret if s in shown]
    if removed == 1:  # the answers load; the matrix columns' note says what is missing
        assert summary.error is None and summary.rows_loaded
    else:
        one_line_about(path, f"{path}: {summary.error}")


# --- answers as codes, in other languages, typed oddly -----------------------------------------

LIMESURVEY = "limesurvey/results-survey246813.csv"
AGREE5 = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]


def test_limesurvey_answer_codes_are_quarantined_with_how_to_export_full_answers(tmp_path):
    text, delimiter = export_text(LIMESURVEY)
    coded = text
    for n, label in reversed(list(enumerate(AGREE5, 1))):
        coded = coded.replace(f'"{label}"', f'"A{n}"')
    _, parsed = parse(write(tmp_path, Path(LIMESURVEY).name, coded.encode()))
    assert parsed.reconciles()
    reasons = {reason for _, _, reason in parsed.quarantine}
    assert any("answer code" in r and "Full answers" in r for r in reasons), reasons


GOOGLE_FORMS = "google_forms/Hearth quarterly check-in (Responses).csv"


def _with_column(text: str, delimiter: str, change) -> bytes:
    rows = rows_of(text, delimiter)
    return write_rows([change(r, k) for k, r in enumerate(rows)], delimiter,
                      quoting=csv.QUOTE_ALL).encode()


@pytest.mark.parametrize("email", ["absent", "Email address", "Username"])
def test_google_forms_with_or_without_an_email_column_loads_the_same_answers(email, tmp_path):
    _, original = parse(EXPORTS / GOOGLE_FORMS)
    text, delimiter = export_text(GOOGLE_FORMS)
    if email == "absent":
        data = _with_column(text, delimiter, lambda r, k: r[:1] + r[2:])
    else:
        data = _with_column(text, delimiter, lambda r, k: r[:1] + [email] + r[2:] if k == 0 else r)
    _, parsed = parse(write(tmp_path, Path(GOOGLE_FORMS).name, data))
    assert parsed.reconciles()
    assert loaded(parsed) == loaded(original)
    assert parsed.dropped_columns == ([] if email == "absent" else [email])


@pytest.mark.parametrize("timestamp, email, render", [
    ("Marca temporal", "Dirección de correo electrónico", None),
    ("Horodateur", "Adresse e-mail", dates_en_gb),
    ("Zeitstempel", "E-Mail-Adresse", dates_german),
    ("Carimbo de data/hora", "Endereço de e-mail", None),
    ("Informazioni cronologiche", "Indirizzo email", dates_en_gb),
    ("Tijdstempel", "E-mailadres", None),
])
def test_google_forms_from_an_owner_in_another_language_loads_the_same_answers(
        timestamp, email, render, tmp_path):
    _, original = parse(EXPORTS / GOOGLE_FORMS)
    text, delimiter = export_text(GOOGLE_FORMS)
    rows = rows_of(text, delimiter)
    rows[0][:2] = [timestamp, email]
    text = write_rows(rows, delimiter, quoting=csv.QUOTE_ALL)
    data = render(text, delimiter) if render else text.encode()
    found, parsed = parse(write(tmp_path, "Check-in (Responses).csv", data))
    assert found == "google_forms" and parsed.reconciles()
    assert loaded(parsed) == loaded(original)
    assert parsed.dropped_columns == [email]


def test_likert_labels_in_other_languages_and_typed_oddly_map_to_their_numbers(tmp_path):
    config = Config(time_zone="Europe/London", extra_labels={"agree5": {
        "fr": {"Pas du tout d'accord": 1, "Pas d’accord": 2, "Ni d'accord ni pas d'accord": 3,
               "D'accord": 4, "Tout à fait d'accord": 5},
        "de": {"Stimme überhaupt nicht zu": 1, "Stimme voll und ganz zu": 5}}})
    instrument = load_instrument(config)
    odd = {"  TOUT À FAIT  D’ACCORD ": 5, "Pas d'accord.": 2, "\u201cD\u2019accord\u201d": 4,
           "stimme u\u0308berhaupt nicht zu": 1, "Strongly\u00a0agree": 5, "agree\u200b": 4,
           "Neither Agree Nor Disagree": 3}
    assert {a: instrument.answer_value("bel_1", a) for a in odd} == odd
    assert label_key("Tout à fait d’accord.") == "tout à fait d'accord"
    # Through a Google Forms export: every odd label loads as its number.
    text, delimiter = export_text(GOOGLE_FORMS)
    rows = rows_of(text, delimiter)
    column = rows[0].index("How much do you agree? [I feel I belong in my group.]")
    body = [r[:column] + [label] + r[column + 1:] for r, label in zip(rows[1:], odd, strict=False)]
    path = write(tmp_path, "odd labels (Responses).csv",
                 write_rows([rows[0], *body], delimiter).encode())
    parsed = parse_export(path, "google_forms", config, ROSTER, instrument)
    assert parsed.reconciles()
    assert parsed.survey["bel_1"].tolist() == [str(v) for v in list(odd.values())[:len(body)]]


@pytest.mark.parametrize("zone", ["GMT+5:30", "(GMT+05:30)", "Asia/Kolkata", "IST"])
def test_google_forms_timestamps_in_any_zone_notation_load_as_the_same_instant(zone, tmp_path):
    text, delimiter = export_text(GOOGLE_FORMS)
    rows = rows_of(text, delimiter)
    # 18:31:58 at UTC+5:30 is 14:01:58 in London (BST): every response at that instant.
    body = [["2025/06/20 6:31:58 PM " + zone, *r[1:]] for r in rows[1:]]
    path = write(tmp_path, "zones (Responses).csv", write_rows([rows[0], *body], delimiter).encode())
    _, parsed = parse(path)
    assert parsed.reconciles()
    assert set(parsed.survey["submitted_at"]) == {"2025-06-20T14:01:58+01:00"}


# --- day and month: decided by the file's evidence, and said ----------------------------------


def test_a_file_of_day_first_dates_is_read_day_first_from_its_evidence_and_says_so(tmp_path):
    relative = "teams_2021/meetingAttendanceReport.csv"
    _, original = parse(EXPORTS / relative)
    data = dates_en_gb(*export_text(relative))
    _, parsed = parse(write(tmp_path, "meetingAttendanceReport.csv", data),
                      Config(time_zone="America/New_York", meetings=CONFIG.meetings))
    # New York would guess month-first; a day above 12 somewhere in the file decides.
    assert any(n.startswith("dates read day-first (read from the data)") for n in parsed.notes)
    assert parsed.attendance["minutes"].tolist() == original.attendance["minutes"].tolist()


def test_an_ambiguous_file_states_the_day_order_it_chose(tmp_path):
    text = ("Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
            "Ada Okafor,ada.okafor@example.org,04/05/2025 18:30:00,04/05/2025 19:30:00,60,No\n")
    _, parsed = parse(write(tmp_path, "participants_84512345678.csv", text.encode()))
    assert "dates read day-first (ambiguous in the data; taken from program.time_zone " \
        "Europe/London)" in parsed.notes
    assert parsed.sessions["starts_at"].tolist() == ["2025-05-04T18:30:00+01:00"]


# --- Microsoft Forms (.xlsx) -------------------------------------------------------------------

MICROSOFT_FORMS = "microsoft_forms/Hearth check-in.xlsx"


def _forms_book(path: Path, header: list, rows: list[list], above: list[list] = (),
                empty_sheet_first: bool = False) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if empty_sheet_first:
        sheet.title = "Notes"
        sheet = book.create_sheet("Sheet1")
    for row in [*above, header, *rows]:
        sheet.append(row)
    book.save(path)
    return path


def _forms_variants():
    from tests.fixtures.exports.build_microsoft_forms import HEADER, ROWS

    def columns(keep):
        return [HEADER[i] for i in keep], [[r[i] for i in keep] for r in ROWS]

    every = list(range(len(HEADER)))
    odd = {"Agree": " agree ", "Strongly Agree": "\u201cSTRONGLY  AGREE\u201d",
           "Neither agree nor disagree": "Neither Agree Nor Disagree."}
    return {
        "header in capitals, spaced": ([f"  {h.upper()} " for h in HEADER], ROWS, {}),
        "title rows and a notes sheet first": (HEADER, ROWS, {
            "above": [["Hearth check-in results"], []], "empty_sheet_first": True}),
        "columns in another order": columns([0, 2, 1, *every[6:][::-1], 3, 4, 5]) + ({},),
        "no Email, Name or Last modified time": columns([0, 1, 2, *every[6:]]) + ({},),
        "an empty column": ([*HEADER, None], [[*r, None] for r in ROWS], {}),
        "completion time as en-GB text": (HEADER, [
            [*r[:2], r[2].strftime("%d/%m/%Y %H:%M:%S"), *r[3:]] for r in ROWS], {}),
        "completion time as ISO text": (HEADER, [
            [*r[:2], r[2].strftime("%Y-%m-%d %H:%M:%S"), *r[3:]] for r in ROWS], {}),
        "labels typed oddly": (HEADER, [[odd.get(c, c) if isinstance(c, str) else c for c in r]
                                        for r in ROWS], {}),
    }


@pytest.mark.parametrize("variant", ["header in capitals, spaced",
                                     "title rows and a notes sheet first",
                                     "columns in another order",
                                     "no Email, Name or Last modified time", "an empty column",
                                     "completion time as en-GB text",
                                     "completion time as ISO text", "labels typed oddly"])
def test_a_messy_microsoft_forms_workbook_loads_the_same_responses(variant, tmp_path):
    _, original = parse(EXPORTS / MICROSOFT_FORMS)
    header, rows, extra = _forms_variants()[variant]
    path = _forms_book(tmp_path / "Hearth check-in.xlsx", header, rows, **extra)
    _, parsed = parse(path)
    assert parsed.reconciles() and parsed.quarantine == []
    assert loaded(parsed) == loaded(original)
