"""Meeting and event exports become exactly these canonical sessions and attendance rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hearth.config import Config
from hearth.instrument import load_instrument
from pipelines.adapters import AdapterError, detect_format, parse_export

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
ROSTER = pd.read_csv(EXPORTS / "roster.csv", dtype=str, keep_default_na=False)
MEETINGS = {
    "84512345678": "g01",
    "Tuesday Evening Circle": "g01",
    "Thursday Walkers": "g02",
    "Wednesday Lunch Circle": "g03",
}
LONDON = Config(time_zone="Europe/London", meetings=MEETINGS)
NEW_YORK = Config(time_zone="America/New_York", meetings=MEETINGS)
SESSION_COLUMNS = [
    "session_id", "group_id", "starts_at", "duration_minutes", "host_member_id", "modality",
    "captioned",
]
NO_ZONE_LONDON = "times had no zone; read as Europe/London (program.time_zone)"
NO_ZONE_NEW_YORK = "times had no zone; read as America/New_York (program.time_zone)"


def guest_reason(name: str, group: str) -> str:
    return (f"participant {name!r} matched no member of group {group}'s roster by email or "
            "name; listed as a guest (add them to members.csv if they belong to the group)")


def parse(relative: str, config: Config = LONDON, expected_format: str | None = None):
    path = EXPORTS / relative
    fmt = detect_format(path, path.read_bytes()[:65536])
    if expected_format:
        assert fmt == expected_format
    parsed = parse_export(path, fmt, config, ROSTER, load_instrument(config))
    assert parsed.kind == "attendance"
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


def test_zoom_classic_merges_repeated_and_overlapping_segments_per_member():
    p = parse("zoom_classic/participants_84512345678.csv", expected_format="zoom_classic")
    assert_frame_equal(p.sessions, sessions(
        "g01-2025-04-01", "g01", "2025-04-01T18:28:10+01:00", "64", "", "video", "false"))
    # Bruno: "iPhone de Bruno Díaz" (no email) + googlemail address, overlapping by a minute;
    # Chen: one segment repeated verbatim plus an overlapping one -> 18:30-19:15;
    # Dana: no email, shouting caps, Excel re-saved date; Eitan: "Eitan Levi's iPad".
    assert_frame_equal(p.attendance, attendance(
        "g01-2025-04-01",
        ("m01", "64", 2), ("m02", "59", 3), ("m03", "45", 5), ("m04", "51", 8), ("m05", "62", 10),
    ))
    assert p.guests == ["+44 20 7946 0000"]
    assert p.quarantine == [(9, None, guest_reason("+44 20 7946 0000", "g01"))]
    assert (p.rows_read, p.rows_merged, p.rows_excluded) == (9, 3, 0)
    # 04/01/2025 could be either order: the 12-hour clock decided it, and the note says so.
    assert p.notes == [NO_ZONE_LONDON, "dates read month-first (12-hour clock, as en-US writes)"]


def test_zoom_meeting_data_reads_the_meeting_block_and_its_host():
    p = parse("zoom_meeting_data/meeting_data_export.csv", expected_format="zoom_meeting_data")
    assert_frame_equal(p.sessions, sessions(
        "g01-2025-04-08", "g01", "2025-04-08T18:25:12+01:00", "71", "m01", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g01-2025-04-08", ("m01", "70", 5), ("m03", "60", 6), ("m02", "55", 7)))
    assert p.guests == ["Visitor Vera"]
    assert (p.rows_read, p.rows_merged, p.rows_excluded) == (4, 0, 0)


def test_zoom_new_interface_skips_the_waiting_room_and_reads_host_name_and_email():
    p = parse("zoom_new/participants_new_interface.csv", expected_format="zoom_new")
    assert_frame_equal(p.sessions, sessions(
        "g01-2025-04-15", "g01", "2025-04-15T18:29:00+01:00", "62", "m01", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g01-2025-04-15", ("m01", "62", 5), ("m03", "47", 7), ("m04", "50", 8)))
    assert p.guests == [] and p.quarantine == []
    assert (p.rows_read, p.rows_merged, p.rows_excluded) == (4, 0, 1)


def test_teams_legacy_pairs_join_and_leave_events_in_utf16_tab_separated_file():
    p = parse("teams_legacy/Wednesday Lunch Circle.csv", NEW_YORK, "teams_legacy")
    assert_frame_equal(p.sessions, sessions(
        "g03-2021-04-23", "g03", "2021-04-23T18:29:58-04:00", "60", "", "video", "false"))
    # "Goliath, David" joined before the list began; Sam left and came back (15 + 36.5 min);
    # the unknown caller never left, so stayed until the list was downloaded.
    assert_frame_equal(p.attendance, attendance(
        "g03-2021-04-23", ("m10", "60", 2), ("m11", "49", 3), ("m12", "52", 4)))
    assert p.guests == ["Unknown Caller"]
    assert p.quarantine == [(10, None, guest_reason("Unknown Caller", "g03"))]
    assert (p.rows_read, p.rows_merged) == (9, 5)
    assert p.notes == [NO_ZONE_NEW_YORK, "dates read month-first (read from the data)"]


def test_teams_mid_2021_reads_the_meeting_summary_and_organizer():
    p = parse("teams_2021/meetingAttendanceReport.csv", NEW_YORK, "teams_2021")
    assert_frame_equal(p.sessions, sessions(
        "g03-2021-04-28", "g03", "2021-04-28T12:00:11-04:00", "62", "m10", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g03-2021-04-28", ("m10", "62", 9), ("m11", "29", 10), ("m12", "45", 11)))
    assert p.guests == ["Rita External"]


def test_teams_current_en_gb_reads_day_first_dates_and_in_meeting_activities():
    p = parse("teams_current/Attendance report en-GB.csv", LONDON, "teams_current")
    assert_frame_equal(p.sessions, sessions(
        "g03-2022-11-15", "g03", "2022-11-15T12:00:05+00:00", "60", "m10", "video", "false"))
    # Zoë's two stretches (28 + 25 min) are one row; "Patel, Sam" is Sam Patel.
    assert_frame_equal(p.attendance, attendance(
        "g03-2022-11-15", ("m10", "60", 17), ("m11", "53", 18), ("m12", "45", 20)))
    assert (p.rows_read, p.rows_merged) == (4, 1)
    assert p.notes == [NO_ZONE_LONDON, "dates read day-first (read from the data)"]


def test_teams_current_en_us_reads_month_first_dates_and_hour_durations():
    p = parse("teams_current/Attendance report en-US.csv", NEW_YORK, "teams_current")
    assert_frame_equal(p.sessions, sessions(
        "g03-2022-11-16", "g03", "2022-11-16T09:00:00-05:00", "150", "m10", "video", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g03-2022-11-16", ("m10", "150", 11), ("m11", "91", 12)))
    assert p.guests == ["Guest Speaker (External)"]


@pytest.mark.parametrize(("config", "session_id", "starts_at", "how"), [
    (LONDON, "g03-2022-11-05", "2022-11-05T12:00:00+00:00", "day-first (ambiguous in the data; "
     "taken from program.time_zone Europe/London)"),
    (NEW_YORK, "g03-2022-05-11", "2022-05-11T12:00:00-04:00", "month-first (ambiguous in the "
     "data; taken from program.time_zone America/New_York)"),
])
def test_teams_current_ambiguous_dates_follow_the_program_time_zone(
    config, session_id, starts_at, how
):
    p = parse("teams_current/Attendance report ambiguous dates.csv", config, "teams_current")
    assert_frame_equal(p.sessions, sessions(
        session_id, "g03", starts_at, "45", "m10", "video", "false"))
    assert_frame_equal(p.attendance, attendance(session_id, ("m10", "45", 9), ("m12", "43", 10)))
    assert p.notes[-1] == f"dates read {how}"


def test_google_meet_takes_date_and_meeting_from_the_file_name():
    p = parse("google_meet/2025-04-22 18:30 Tuesday Evening Circle - Attendance Report.csv",
              expected_format="google_meet")
    assert_frame_equal(p.sessions, sessions(
        "g01-2025-04-22", "g01", "2025-04-22T18:30:00+01:00", "65", "", "video", "false"))
    # Durations "1 hr 5 min", "45 min", "30 sec" (half a minute rounds up to 1).
    assert_frame_equal(p.attendance, attendance(
        "g01-2025-04-22", ("m01", "65", 2), ("m02", "45", 3), ("m03", "1", 4)))
    assert p.guests == ["Walk In"]


def test_meetup_counts_only_attendance_y_and_reads_the_event_host():
    p = parse("meetup/2025-05-06 18:30 Thursday Walkers.csv", expected_format="meetup")
    assert_frame_equal(p.sessions, sessions(
        "g02-2025-05-06", "g02", "2025-05-06T18:30:00+01:00", "60", "m06", "in_person", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g02-2025-05-06", ("m06", "", 2), ("m07", "", 3)))
    assert p.guests == ["Kim Visitor"]
    assert (p.rows_read, p.rows_excluded) == (5, 2)
    assert p.notes == [
        "event date and start time from the file name, read as Europe/London (program.time_zone)",
        "the export has no session length; duration_minutes set to 60 (correct it in a "
        "sessions.csv if it matters)",
    ]


def test_luma_counts_approved_check_ins_and_converts_utc():
    p = parse("luma/Thursday Walkers - Guests.csv", expected_format="luma")
    # First check-in 17:28:25.760Z is 18:28:25 in London (BST).
    assert_frame_equal(p.sessions, sessions(
        "g02-2025-05-13", "g02", "2025-05-13T18:28:25+01:00", "60", "", "in_person", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g02-2025-05-13", ("m06", "", 2), ("m07", "", 3)))
    assert p.guests == ["Lena Walk-in"]
    # Hana approved but never checked in, Ivo declined, Jo pending: none attended.
    assert (p.rows_read, p.rows_excluded) == (6, 3)


def test_eventbrite_counts_checked_in_tickets_once_per_member():
    p = parse("eventbrite/2025-05-20 18:30 attendee report.csv", expected_format="eventbrite")
    assert_frame_equal(p.sessions, sessions(
        "g02-2025-05-20", "g02", "2025-05-20T18:30:00+01:00", "60", "", "in_person", "false"))
    assert_frame_equal(p.attendance, attendance(
        "g02-2025-05-20", ("m06", "", 2), ("m08", "", 5)))
    assert (p.rows_read, p.rows_merged, p.rows_excluded) == (5, 1, 2)


def test_participants_match_only_the_mapped_groups_roster():
    # Ada Okafor is m01 in g01 and also the name of m13 in g03: a g01 meeting gives m01.
    p = parse("zoom_meeting_data/meeting_data_export.csv")
    assert "m13" not in set(p.attendance["member_id"])
    assert "m01" in set(p.attendance["member_id"])


def test_an_unmapped_meeting_names_the_id_and_the_line_to_add():
    config = Config(time_zone="Europe/London", source=Path("hearth.toml"))
    path = EXPORTS / "zoom_meeting_data/meeting_data_export.csv"
    with pytest.raises(AdapterError) as caught:
        parse_export(path, "zoom_meeting_data", config, ROSTER, load_instrument(config))
    assert str(caught.value) == (
        f"{path}: meeting id 845 1234 5678 ('Tuesday Evening Circle') is not mapped to a group; "
        'add the line "845 1234 5678" = "<group_id>" under [meetings] in hearth.toml and ingest '
        "the file again"
    )


def test_a_renamed_google_meet_report_says_how_to_name_it(tmp_path):
    renamed = tmp_path / "attendance.csv"
    renamed.write_bytes(
        (EXPORTS / "google_meet/2025-04-22 18:30 Tuesday Evening Circle - Attendance Report.csv")
        .read_bytes()
    )
    assert detect_format(renamed, renamed.read_bytes()) == "google_meet"
    with pytest.raises(AdapterError, match="YYYY-MM-DD HH:MM <Meeting name> - Attendance Report"):
        parse_export(renamed, "google_meet", LONDON, ROSTER, load_instrument(LONDON))


def test_a_meetup_list_without_a_date_in_its_name_says_where_to_put_it(tmp_path):
    undated = tmp_path / "Thursday Walkers.csv"
    undated.write_bytes((EXPORTS / "meetup/2025-05-06 18:30 Thursday Walkers.csv").read_bytes())
    with pytest.raises(AdapterError, match="put its date .* at the start of the file name"):
        parse_export(undated, "meetup", LONDON, ROSTER, load_instrument(LONDON))


def test_a_segment_with_an_unreadable_time_is_quarantined_and_the_rest_loads(tmp_path):
    broken = tmp_path / "participants_84512345678.csv"
    text = (EXPORTS / "zoom_classic/participants_84512345678.csv").read_text(encoding="utf-8")
    broken.write_text(text.replace("04/01/2025 06:28:10 PM", "yesterday evening"),
                      encoding="utf-8")
    p = parse_export(broken, "zoom_classic", LONDON, ROSTER, load_instrument(LONDON))
    assert p.quarantine[0] == (
        2, None, "join time/leave time: not a date and time: 'yesterday evening'; expected a "
        "date and time such as 11/19/2021 09:54:15 AM",
    )
    assert "m01" not in set(p.attendance["member_id"])
    assert p.reconciles()
