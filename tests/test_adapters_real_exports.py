"""Exports as people really have them (issue 13): today's Zoom file, other interface
languages, other separators, and display names rosters don't match.

Each fixture is written in the byte form the tool (or Excel) writes: encoding, byte-order mark,
separator and language; each test asserts the whole canonical frame.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hearth.cli import main
from hearth.config import Config
from hearth.instrument import load_instrument
from pipelines.adapters import FORMATS, AdapterError, detect_format, parse_export
from pipelines.adapters.common import RosterMatcher, decide_month_first, sniff_delimiter

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
ROSTER = pd.read_csv(EXPORTS / "roster.csv", dtype=str, keep_default_na=False)
MEETINGS = {"84598765432": "g04", "84511112222": "g04", "Cercle du mardi": "g04",
            "Kamis semicolon": "g04", "84522223333": "g04", "84533334444": "g04",
            "84544445555": "g04", "845 5555 6666": "g04"}
SESSION_COLUMNS = [
    "session_id", "group_id", "starts_at", "duration_minutes", "host_member_id", "modality",
    "captioned",
]


def config(zone: str) -> Config:
    return Config(time_zone=zone, meetings=MEETINGS)


def parse(relative: str, zone: str, expected_format: str):
    path = EXPORTS / relative
    fmt = detect_format(path, path.read_bytes()[:65536])
    assert fmt == expected_format
    parsed = parse_export(path, fmt, config(zone), ROSTER, load_instrument(config(zone)))
    assert parsed.reconciles()
    return parsed


def sessions(*row: str) -> pd.DataFrame:
    return pd.DataFrame([list(row)], columns=SESSION_COLUMNS).astype("str")


def attendance(session_id: str, *rows: tuple[str, str, int]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [(session_id, member, "attended", minutes, line) for member, minutes, line in rows],
        columns=["session_id", "member_id", "status", "minutes", "line"],
    )
    frame = frame.astype({c: "str" for c in ["session_id", "member_id", "status", "minutes"]})
    frame["line"] = frame["line"].astype("int64")
    return frame


def test_fixtures_are_in_the_byte_form_the_tools_write():
    zoom = (EXPORTS / "zoom_classic/participants_84598765432.csv").read_bytes()
    assert zoom.startswith(b"\xef\xbb\xbfName (Original Name),User Email,")
    assert b",In Waiting Room\r\n" in zoom
    french = (EXPORTS / "teams_2021/Cercle du mardi.csv").read_bytes()
    assert french.startswith(b"\xff\xfe")
    assert "Nom complet\tHeure d'arrivée" in french.decode("utf-16")
    japanese = (EXPORTS / "zoom_classic/participants_84511112222.csv").read_bytes()
    assert japanese.startswith("\ufeff名前 (元の名前),".encode())
    spanish = (EXPORTS / "zoom_classic/participants_84522223333.csv").read_bytes()
    assert spanish.startswith("\ufeffNombre (nombre original),Correo electrónico,".encode())
    older_spanish = (EXPORTS / "zoom_classic/participants_84533334444.csv").read_bytes()
    assert older_spanish.startswith(b"Nombre (nombre original),E-mail del usuario,")
    portuguese = (EXPORTS / "zoom_classic/participants_84544445555.csv").read_bytes()
    assert portuguese.startswith("\ufeffNome (nome original),E-mail,Ingressar na hora,".encode())
    italian = (EXPORTS / "zoom_new/partecipanti_italiano.csv").read_bytes()
    assert italian.startswith("\ufeffArgomento,ID,Organizzatore,".encode())
    assert "In sala d’attesa\r\n".encode() in italian
    semicolon = (EXPORTS / "teams_2021/Kamis semicolon.csv").read_bytes()
    assert semicolon.startswith(b"\xef\xbb\xbfNama;Join Time;Leave Time;")


# --- 1. today's Zoom participant export ------------------------------------------------------


def test_todays_zoom_export_is_read_as_the_classic_report_without_waiting_room_time():
    p = parse("zoom_classic/participants_84598765432.csv", "Europe/London", "zoom_classic")
    # Waiting-room rows (Lucía before she was let in; a caller never admitted) are not
    # attendance: the session starts when Lucía was admitted.
    assert_frame_equal(p.sessions, sessions(
        "g04-2025-05-06", "g04", "2025-05-06T18:30:00+01:00", "60", "", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2025-05-06", ("m17", "60", 3), ("m18", "45", 4)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (4, 2, 0)
    assert p.quarantine == [] and p.guests == []
    assert p.notes == ["times had no zone; read as Europe/London (program.time_zone)",
                       "dates read month-first (12-hour clock, as en-US writes)"]


def test_forcing_the_newer_zoom_format_on_it_names_the_fix():
    path = EXPORTS / "zoom_classic/participants_84598765432.csv"
    with pytest.raises(AdapterError) as caught:
        parse_export(path, "zoom_new", config("Europe/London"), ROSTER,
                     load_instrument(config("Europe/London")))
    assert str(caught.value) == (
        f"{path}: no meeting block (Topic, ID, Host) found: this is Zoom's participant report "
        "without meeting data; ingest it without --format (it is recognised as zoom_classic) "
        "or with --format zoom_classic"
    )


# --- 2. other interface languages ---------------------------------------------------------------


def test_teams_in_french_with_its_date_and_duration_forms():
    # UTF-16, tab-separated, `13/04/2021 à 09:01:31`, `2 h 44 m`; 'JANSSENS JAN (EXT)' is
    # Jan Janssens (surname first, capitals, external tag).
    p = parse("teams_2021/Cercle du mardi.csv", "Europe/Paris", "teams_2021")
    assert_frame_equal(p.sessions, sessions(
        "g04-2021-04-13", "g04", "2021-04-13T09:01:31+02:00", "164", "m19", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2021-04-13", ("m19", "164", 3), ("m15", "60", 4)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (2, 0, 0)
    assert p.quarantine == [] and p.guests == []
    assert p.notes == ["times had no zone; read as Europe/Paris (program.time_zone)",
                       "dates read day-first (read from the data)"]


def test_zoom_in_japanese_with_year_first_dates():
    # '019_Mockingbird' (a numbered rename) is the one member of the group called Mockingbird.
    p = parse("zoom_classic/participants_84511112222.csv", "Asia/Tokyo", "zoom_classic")
    assert_frame_equal(p.sessions, sessions(
        "g04-2020-12-08", "g04", "2020-12-08T08:35:00+09:00", "65", "", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2020-12-08", ("m18", "65", 2), ("m16", "54", 3)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (2, 0, 0)
    assert p.quarantine == [] and p.guests == []
    assert p.notes == ["times had no zone; read as Asia/Tokyo (program.time_zone)"]


def test_zoom_in_spanish_with_its_waiting_room_rows():
    # Today's wording (Hora de entrada, En sala de espera = Sí); UTF-8 with a byte-order mark.
    p = parse("zoom_classic/participants_84522223333.csv", "Europe/Madrid", "zoom_classic")
    assert_frame_equal(p.sessions, sessions(
        "g04-2025-05-20", "g04", "2025-05-20T18:30:00+02:00", "60", "", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2025-05-20", ("m17", "60", 3), ("m14", "45", 4)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (3, 1, 0)
    assert p.quarantine == [] and p.guests == []
    assert p.notes == ["times had no zone; read as Europe/Madrid (program.time_zone)"]


def test_zoom_in_spanish_older_wording_reads_ambiguous_dates_day_first():
    # 'Hora para unirse', no byte-order mark; 04/05/2021 is 4 May, although the program is in
    # the Americas and the clock is 12-hour (which alone would mean en-US month-first).
    p = parse("zoom_classic/participants_84533334444.csv", "America/Santiago", "zoom_classic")
    assert_frame_equal(p.sessions, sessions(
        "g04-2021-05-04", "g04", "2021-05-04T19:00:00-04:00", "60", "", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2021-05-04", ("m17", "60", 2), ("m15", "40", 3)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (2, 0, 0)
    assert p.quarantine == [] and p.guests == []
    assert p.notes == ["times had no zone; read as America/Santiago (program.time_zone)",
                       "dates read day-first (as Spanish exports write them)"]


def test_zoom_in_portuguese_reads_07_01_as_the_seventh_of_january():
    # Brazilian Zoom writes day-first dates with a 12-hour clock (07/01/2026 06:16:46 PM);
    # 'Na sala de espera' = Sim is waiting-room time, not attendance.
    p = parse("zoom_classic/participants_84544445555.csv", "America/Sao_Paulo", "zoom_classic")
    assert_frame_equal(p.sessions, sessions(
        "g04-2026-01-07", "g04", "2026-01-07T19:00:00-03:00", "60", "", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2026-01-07", ("m19", "60", 3), ("m18", "35", 4)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (3, 1, 0)
    assert p.quarantine == [] and p.guests == []
    assert p.notes == ["times had no zone; read as America/Sao_Paulo (program.time_zone)",
                       "dates read day-first (as Portuguese exports write them)"]


def test_zoom_in_italian_with_its_meeting_block():
    # Argomento / Organizzatore / Ora di inizio: the newer report with a meeting block, in
    # Italian; month-first dates (01/30/2025); 'In sala d’attesa' = Sì is the waiting room.
    p = parse("zoom_new/partecipanti_italiano.csv", "Europe/Rome", "zoom_new")
    assert_frame_equal(p.sessions, sessions(
        "g04-2025-01-30", "g04", "2025-01-30T18:54:02+01:00", "61", "m19", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2025-01-30", ("m19", "61", 5), ("m15", "52", 7)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (3, 1, 0)
    assert p.quarantine == [] and p.guests == []
    assert p.notes == ["times had no zone; read as Europe/Rome (program.time_zone)"]


@pytest.mark.parametrize(("values", "language", "expected"), [
    (["07/01/2026 06:16:46 PM"], "pt", (False, "day-first (as Portuguese exports write them)")),
    (["07/01/2026 06:16:46 PM"], "", (True, "month-first (12-hour clock, as en-US writes)")),
    # The data outranks the language: a second number above 12 can only be a day.
    (["01/13/2026 06:16:46 PM"], "es", (True, "month-first (read from the data)")),
])
def test_the_interface_language_decides_the_day_order_the_data_leaves_open(
        values, language, expected):
    assert decide_month_first(values, "America/Sao_Paulo", language) == expected


# --- 3. separators -----------------------------------------------------------------------------


def test_a_semicolon_separated_export_is_read():
    # Excel in a European locale: semicolons, a comma inside a name; 'Mustermann Max' is Max
    # Mustermann (surname first, no comma), and the organiser hosts.
    p = parse("teams_2021/Kamis semicolon.csv", "Europe/London", "teams_2021")
    assert_frame_equal(p.sessions, sessions(
        "g04-2025-05-13", "g04", "2025-05-13T18:30:00+01:00", "60", "m14", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g04-2025-05-13", ("m14", "60", 2), ("m17", "58", 3)))
    assert (p.rows_read, p.rows_excluded, p.rows_merged) == (3, 0, 0)
    # 6. A name the roster does not hold unambiguously is a guest, with the entry it resembles.
    assert p.guests == ["Mia Mockinbird"]
    assert p.quarantine == [(4, None, (
        "participant 'Mia Mockinbird' matched no member of group g04's roster by email or "
        "name; listed as a guest (closest roster entry: m16 (Mia Mockingbird); if that is "
        "them, put the name they use in meetings or their email in members.csv, otherwise add "
        "them to members.csv if they belong to the group)"))]


@pytest.mark.parametrize(("text", "separator"), [
    ("a;b;c\n1;2;3\n", ";"),
    ("a\tb\tc\nGoliath, David\t4/23/2021, 6:44:22 PM\tx\n", "\t"),
    ("Start time\t11/15/22, 9:30:17 AM\nName\tFirst join\tLast leave\n", "\t"),
    ('a,b,c\n1,"x; y; z; w",3\n4,5,6\n', ","),
    ("Nama;Join Time\nRomero, Lucía;13/05/2025 18:31\n", ";"),
])
def test_the_separator_is_sniffed_line_by_line(text, separator):
    assert sniff_delimiter(text) == separator


# --- 6. display names real rosters don't match -------------------------------------------------


def test_two_members_sharing_a_surname_are_not_guessed_from_it():
    matcher = RosterMatcher([
        {"member_id": "a", "name": "Ana Lima"}, {"member_id": "b", "name": "Rui Lima"},
        {"member_id": "c", "name": "Max Mustermann"},
    ])
    assert matcher.match("007_Lima", "").member_id is None
    assert matcher.match("MUSTERMANN MAX (EXT)", "").member_id == "c"
    assert matcher.match("Lima Ana", "").member_id == "a"


# --- 4. LimeSurvey 'code. text' headings and coded answers; Qualtrics legacy -----------------


def survey_frame(*rows: dict) -> pd.DataFrame:
    """The canonical survey frame: every instrument item, empty unless given."""
    items = load_instrument(config("Europe/London")).item_ids
    columns = ["survey_id", "submitted_at", "group_id", *items, "comment", "line"]
    full = [{c: "" for c in columns} | row for row in rows]
    frame = pd.DataFrame(full, columns=columns)
    frame = frame.astype({c: "str" for c in columns if c != "line"})
    frame["line"] = frame["line"].astype("int64")
    return frame


def parse_survey(relative: str, expected_format: str):
    path = EXPORTS / relative
    assert detect_format(path, path.read_bytes()) == expected_format
    parsed = parse_export(path, expected_format, config("Europe/London"), ROSTER,
                          load_instrument(config("Europe/London")))
    assert parsed.reconciles()
    return parsed


def test_limesurvey_code_and_text_headings_with_coded_answers():
    p = parse_survey("limesurvey/results-survey579135 code and text.csv", "limesurvey")
    # 'Agree (6)' is read by its label; 'Tend to agree (4)' (a label the map lacks) by its code;
    # 'Very much so (9)' is neither (9 is off the 1-7 scale) and is set aside alone. Responses
    # 11 and 12 are alike to the second and stay two.
    at = "2025-11-04T19:02:11+00:00"
    assert_frame_equal(p.survey, survey_frame(
        {"survey_id": "2025Q4", "submitted_at": at, "bel_1": "4", "psy_4": "6", "lon_1": "1",
         "line": 2},
        {"survey_id": "2025Q4", "submitted_at": at, "bel_1": "4", "psy_4": "6", "lon_1": "1",
         "line": 3},
        {"survey_id": "2025Q4", "submitted_at": "2025-11-05T08:30:00+00:00", "bel_1": "4",
         "lon_1": "3", "line": 4},
    ))
    assert p.quarantine == [(4, "psy_4", "answer label not in the instrument's agree7 map; add "
                                         "it under [labels.agree7.<lang>] in hearth.toml")]
    assert p.dropped_columns == ["id. Response ID", "ipaddr. IP address", "refurl. Referrer URL"]
    assert p.response_ids == {2: "11", 3: "12", 4: "13"}
    assert (p.rows_read, p.rows_excluded) == (4, 1)


def test_qualtrics_legacy_drops_identifying_columns_and_unfinished_or_preview_responses():
    p = parse_survey("qualtrics_legacy/Hearth_check-in_legacy.csv", "qualtrics_legacy")
    assert_frame_equal(p.survey, survey_frame(
        {"survey_id": "2014Q1", "submitted_at": "2014-03-02T10:05:40+00:00", "group_id": "g01",
         "bel_1": "4", "bel_2": "5", "lon_1": "1", "comment": "Good group", "line": 3},
        {"survey_id": "2014Q1", "submitted_at": "2014-03-02T11:04:10+00:00", "group_id": "g02",
         "bel_1": "2", "bel_2": "3", "lon_1": "3", "line": 4},
    ))
    assert p.dropped_columns == [
        "ResponseID", "Name", "ExternalDataReference", "EmailAddress", "IPAddress",
        "LocationLatitude", "LocationLongitude", "LocationAccuracy"]
    assert p.quarantine == []
    assert (p.rows_read, p.rows_excluded) == (4, 2)
    assert p.notes[:2] == ["times had no zone; read as Europe/London (program.time_zone)",
                           "2 incomplete responses excluded (Finished = 0, or a survey preview "
                           "/ test)"]
    # Nothing identifying survives anywhere in the frame.
    text = p.survey.to_csv()
    for secret in ("Quinn", "pat.quinn@example.com", "198.51.100.77", "48.8566", "ext-771",
                   "R_9aBcD4eF6gH8iJ0"):
        assert secret not in text


def test_hearth_formats_lists_languages_and_variants(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert out.count("languages: ") == len(FORMATS)
    assert "languages: en, ja, es, pt, it" in out  # Zoom
    assert "languages: en, it\n" in out  # Zoom's newer interface: block words seen in Italian
    flat = " ".join(out.split())
    assert "Portuguese (Nome (nome original), Ingressar na hora" in flat
    assert "Italian (Argomento, ID, Organizzatore" in flat
    assert "languages: en, fr, id" in out  # Teams mid-2021
    assert "current (UTF-8 with BOM, In Waiting Room" in out
    assert "headings 'code. question text'" in out
    assert max(len(line) for line in out.splitlines()) <= 100
