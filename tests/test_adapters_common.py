"""Times, durations and names the way meeting and survey tools write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pipelines.adapters.common import (
    RosterMatcher,
    TimeFormatError,
    decide_month_first,
    decode,
    name_candidates,
    norm_email,
    parse_datetime,
    parse_duration_minutes,
    parse_time_of_day,
    survey_quarter,
    union_minutes,
    whole_minutes,
)

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(("text", "month_first", "expected"), [
    ("11/19/2021 09:54:15 AM", True, datetime(2021, 11, 19, 9, 54, 15, tzinfo=LONDON)),
    ("11/19/2021 9:54:15 AM", True, datetime(2021, 11, 19, 9, 54, 15, tzinfo=LONDON)),
    ("4/23/2021, 6:44:22 PM", True, datetime(2021, 4, 23, 18, 44, 22, tzinfo=LONDON)),
    ("15/11/22, 09:30:17", False, datetime(2022, 11, 15, 9, 30, 17, tzinfo=LONDON)),
    ("11/15/22, 9:30:17 AM", True, datetime(2022, 11, 15, 9, 30, 17, tzinfo=LONDON)),
    ("12/1/2025 12:05:00 AM", True, datetime(2025, 12, 1, 0, 5, 0, tzinfo=LONDON)),
    ("2025-12-01 10:04:01", True, datetime(2025, 12, 1, 10, 4, 1, tzinfo=LONDON)),
])
def test_times_without_a_zone_are_read_in_the_program_zone(text, month_first, expected):
    assert parse_datetime(text, LONDON, month_first) == (expected, False)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-04-09T20:18:25.760Z", datetime(2026, 4, 9, 20, 18, 25, 760000, tzinfo=UTC)),
    ("2022/10/17 6:31:58 PM EST", datetime(2022, 10, 17, 23, 31, 58, tzinfo=UTC)),
    ("2022/10/17 6:31:58 PM GMT+5:30", datetime(2022, 10, 17, 13, 1, 58, tzinfo=UTC)),
    ("2022/10/17 6:31:58 PM GMT-4", datetime(2022, 10, 17, 22, 31, 58, tzinfo=UTC)),
    ("2025-06-01 10:00:00+02:00", datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC)),
])
def test_times_with_a_zone_keep_it(text, expected):
    parsed, had_zone = parse_datetime(text, LONDON)
    assert had_zone and parsed == expected


def test_a_gmt_offset_is_exact():
    parsed, _ = parse_datetime("2022/10/17 6:31:58 PM GMT+5:30", LONDON)
    assert parsed.utcoffset() == timedelta(hours=5, minutes=30)
    assert parsed.tzinfo == timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize("text", ["yesterday", "13/45/2021 10:00", "2021-02-30 10:00",
                                  "2022/10/17 6:31:58 PM XYZT", "4/23/2021, 13:44:22 PM"])
def test_unreadable_times_raise_a_time_format_error(text):
    with pytest.raises(TimeFormatError):
        parse_datetime(text, LONDON)


@pytest.mark.parametrize(("values", "zone", "month_first", "how"), [
    (["15/11/22, 09:30:17"], "America/New_York", False, "day-first (read from the data)"),
    (["11/15/22, 09:30:17"], "Europe/London", True, "month-first (read from the data)"),
    (["11/05/22, 9:30:17 AM"], "Europe/London", True,
     "month-first (12-hour clock, as en-US writes)"),
    (["05/11/22, 09:30:17"], "Europe/London", False,
     "day-first (ambiguous in the data; taken from program.time_zone Europe/London)"),
    (["05/11/22, 09:30:17"], "America/Chicago", True,
     "month-first (ambiguous in the data; taken from program.time_zone America/Chicago)"),
])
def test_day_order_comes_from_the_data_where_it_can(values, zone, month_first, how):
    assert decide_month_first(values, zone) == (month_first, how)


@pytest.mark.parametrize(("text", "minutes"), [
    ("29m 22s", 29 + 22 / 60), ("2h 30m 1s", 150 + 1 / 60), ("10m 59s", 10 + 59 / 60),
    ("1 hr 5 min", 65), ("45 min", 45), ("30 sec", 0.5), ("58", 58), ("1h", 60),
    ("01:05:30", 65.5), ("", None),
])
def test_durations_in_every_tool_spelling(text, minutes):
    assert parse_duration_minutes(text) == pytest.approx(minutes) if minutes else \
        parse_duration_minutes(text) is None


def test_a_duration_with_stray_words_is_refused():
    with pytest.raises(TimeFormatError):
        parse_duration_minutes("about 45 min")


def test_time_of_day_in_both_clocks():
    assert parse_time_of_day("6:31 PM") == time(18, 31)
    assert parse_time_of_day("12:05 AM") == time(0, 5)
    assert parse_time_of_day("18:31:05") == time(18, 31, 5)


def test_overlapping_and_repeated_intervals_count_once():
    t = datetime(2025, 4, 1, 18, 0, tzinfo=LONDON)
    m = timedelta(minutes=1)
    intervals = [(t, t + 30 * m), (t, t + 30 * m), (t + 15 * m, t + 45 * m),
                 (t + 60 * m, t + 70 * m)]
    assert union_minutes(intervals) == 55
    assert union_minutes([]) == 0
    assert whole_minutes(29.5) == 30 and whole_minutes(29.49) == 29


@pytest.mark.parametrize(("display", "candidates"), [
    ("iPhone de Bruno Díaz", ["bruno diaz"]),
    ("Eitan Levi's iPad", ["eitan levi"]),
    ("Ana Lima - Galaxy S21", ["ana lima"]),
    ("Dana Kowalski (Guest)", ["dana kowalski"]),
    ("Goliath, David", ["david goliath"]),
    ("Chen (Chen Wei)", ["chen", "chen wei"]),
    ("  ZOË   MARTIN ", ["zoe martin"]),
    ("Sam Patel (she/her)", ["sam patel"]),
])
def test_display_names_reduce_to_the_names_they_stand_for(display, candidates):
    assert name_candidates(display) == candidates


def test_emails_are_compared_lower_case_and_googlemail_is_gmail():
    assert norm_email("  Bruno.Diaz@GoogleMail.com ") == "bruno.diaz@gmail.com"
    assert norm_email("no address") == ""


def test_roster_matching_prefers_email_then_a_unique_name():
    matcher = RosterMatcher([
        {"member_id": "m1", "name": "Ada Okafor", "email": "ada@example.org"},
        {"member_id": "m2", "name": "Sam Lee", "email": None},
        {"member_id": "m3", "name": "Sam Lee", "email": "sam.lee@example.org"},
    ])
    assert matcher.match("Someone Else", "ADA@example.org").member_id == "m1"
    assert matcher.match("Okafor, Ada", "").member_id == "m1"
    # Two members share the name Sam Lee: only the email can tell them apart.
    assert matcher.match("Sam Lee", "").member_id is None
    assert matcher.match("Sam Lee", "sam.lee@example.org").member_id == "m3"


@pytest.mark.parametrize(("raw", "encoding"), [
    (b"\xef\xbb\xbfName,Email", "utf-8-sig"),
    ("\ufeffFull Name\tUser Action".encode("utf-16-le"), "utf-16"),
    ("Full Name\tUser Action".encode("utf-16-le"), "utf-16-le"),
    ("Zoë,Martin".encode("cp1252"), "cp1252"),
    (b"Name,Email", "utf-8"),
])
def test_byte_order_marks_and_encodings_are_detected(raw, encoding):
    text, found = decode(raw)
    assert found == encoding
    assert not text.startswith("\ufeff")


@pytest.mark.parametrize(("day", "start", "label"), [
    (date(2025, 3, 31), 1, "2025Q1"), (date(2025, 4, 1), 1, "2025Q2"),
    (date(2025, 12, 31), 1, "2025Q4"), (date(2025, 4, 1), 4, "2026Q1"),
    (date(2026, 3, 31), 4, "2026Q4"), (date(2025, 7, 1), 7, "2026Q1"),
    (date(2025, 6, 30), 7, "2025Q4"),
])
def test_survey_quarters_respect_the_fiscal_year_start(day, start, label):
    assert survey_quarter(day, start) == label
