"""Meeting and event exports -> canonical sessions and attendance.

Each tool's reader turns its file into a Meeting (what the export says about the meeting) and
Segments (one per join/leave stretch, event or ticket). `build_attendance` then does what is
common: map the meeting to a group ([meetings] in hearth.toml, else the group of that exact
name), match participants to the group's roster, merge segments
to one row per member per session, and list the guests.

Counting (so the load summary reconciles): rows_read is every data row of the table used
(Zoom/Teams segments or events, Meet participants, Meetup/Luma/Eventbrite registrations);
rows_read = attendance rows + quarantined rows + rows_excluded + rows_merged, where quarantined
rows include one per guest (a participant who matched no roster member), rows_excluded counts
registrations that did not attend (no-shows, declined, waiting room), and rows_merged counts
segments folded into another row of the same participant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from hearth.config import Config
from pipelines.adapters import AdapterError, Parsed
from pipelines.adapters.common import (
    RosterMatcher,
    Row,
    TimeFormatError,
    cell,
    decide_month_first,
    find_header,
    iso,
    key_values,
    norm_header,
    norm_name,
    parse_datetime,
    parse_duration_minutes,
    parse_time_of_day,
    read_file_rows,
    table,
    union_minutes,
    whole_minutes,
)

SESSION_COLUMNS = [
    "session_id", "group_id", "starts_at", "duration_minutes", "host_member_id", "modality",
    "captioned",
]
ATTENDANCE_COLUMNS = ["session_id", "member_id", "status", "minutes", "line"]
IN_PERSON_DEFAULT_MINUTES = 60


@dataclass
class Segment:
    line: int
    name: str
    email: str
    join: datetime | None = None
    leave: datetime | None = None
    minutes: float | None = None  # the tool's own duration, used when join/leave are missing
    host: bool = False


@dataclass
class Meeting:
    keys: list[str]                 # meeting id and/or title, tried in order against [meetings]
    what: str                       # how messages name the meeting
    start: datetime | None = None
    end: datetime | None = None
    duration: float | None = None
    host_name: str = ""
    host_email: str = ""
    in_person: bool = False
    # Meet prints join/exit to the minute but the duration to the second: trust the duration.
    prefer_reported_minutes: bool = False
    segments: list[Segment] = field(default_factory=list)
    rows_read: int = 0
    excluded: int = 0
    quarantine: list[tuple[int | None, str | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Clock:
    """Reads a file's times in one zone and day order, remembering whether any lacked a zone."""

    def __init__(self, path: Path, config: Config, samples: list[str], day_order_note: str = ""):
        self.path = path
        self.zone_name = config.time_zone
        self.zone = ZoneInfo(config.time_zone)
        self.month_first, self.how = decide_month_first(samples, config.time_zone)
        self.day_order_note = day_order_note
        self.zoneless = False

    def read(self, text: str) -> datetime:
        dt, had_zone = parse_datetime(text, self.zone, self.month_first)
        if not had_zone:
            self.zoneless = True
        return dt.astimezone(self.zone)

    def notes(self) -> list[str]:
        out = []
        if self.zoneless:
            out.append(f"times had no zone; read as {self.zone_name} (program.time_zone)")
        if self.day_order_note:
            out.append(f"dates read {self.how}")
        return out


def _bad_time(meeting: Meeting, row: Row, column: str, exc: Exception) -> None:
    # A row-level rejection: the column is named in the reason, column_name stays empty.
    meeting.quarantine.append(
        (row.line, None,
         f"{column}: {exc}; expected a date and time such as 11/19/2021 09:54:15 AM")
    )


def _minutes(text: str) -> float | None:
    """A tool's own duration, or None when it is missing or unreadable (times then decide)."""
    try:
        return parse_duration_minutes(text)
    except TimeFormatError:
        return None


def _sample(header: list[str], data: list[Row], *columns: str) -> list[str]:
    return [cell(header, r, c) for r in data for c in columns if cell(header, r, c)]


# --- Zoom ----------------------------------------------------------------------------------------

_ZOOM_TABLE = {"join time", "leave time"}


def _zoom_segments(meeting: Meeting, clock: _Clock, header: list[str], data: list[Row]) -> None:
    for row in data:
        meeting.rows_read += 1
        waiting = cell(header, row, "in waiting room").lower() in {"yes", "true", "y"}
        if waiting:
            meeting.excluded += 1
            continue
        try:
            join = clock.read(cell(header, row, "join time"))
            leave = clock.read(cell(header, row, "leave time"))
        except TimeFormatError as exc:
            _bad_time(meeting, row, "join time/leave time", exc)
            continue
        meeting.segments.append(
            Segment(
                line=row.line,
                name=cell(header, row, "name (original name)", "name", "participant"),
                email=cell(header, row, "user email", "email"),
                join=join, leave=leave,
                minutes=_minutes(cell(header, row, "duration (minutes)")),
            )
        )


def _zoom_table(rows: list[Row], path: Path, start: int = 0) -> tuple[list[str], list[Row]]:
    hi = find_header(rows, _ZOOM_TABLE, start)
    if hi is None:
        raise AdapterError(
            f"{path}: no participant table (a header with Join Time and Leave Time) found; "
            "export the participant report again from Zoom's Reports > Usage page"
        )
    return table(rows, hi)


def read_zoom_classic(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    header, data = _zoom_table(rows, path)
    clock = _Clock(path, config, _sample(header, data, "join time", "leave time"))
    found = re.search(r"(\d{9,12})", path.stem)
    keys = ([found[1]] if found else []) + [path.stem]
    what = f"meeting id {found[1]}" if found else f"meeting titled {path.stem!r} (the file name)"
    meeting = Meeting(keys=keys, what=what)
    _zoom_segments(meeting, clock, header, data)
    meeting.notes += clock.notes()
    return meeting


def _zoom_block(path: Path, config: Config, signature: set[str], shown: str):
    """A Zoom report with a meeting block: (the block's cell reader, the segment table, clock)."""
    rows, _ = read_file_rows(path)
    bi = find_header(rows, signature)
    if bi is None or bi + 1 >= len(rows):
        raise AdapterError(f"{path}: no meeting block ({shown}) found")
    block_header = [norm_header(c) for c in rows[bi].cells]
    block = rows[bi + 1]
    header, data = _zoom_table(rows, path, bi + 2)

    def block_cell(*names: str) -> str:
        return cell(block_header, block, *names)

    samples = _sample(header, data, "join time", "leave time")
    samples += [block_cell("start time"), block_cell("end time")]
    return block_cell, header, data, _Clock(path, config, samples)


def read_zoom_meeting_data(path: Path, config: Config) -> Meeting:
    block_cell, header, data, clock = _zoom_block(
        path, config, {"meeting id", "topic", "start time"}, "Meeting ID, Topic, Start Time")
    meeting_id, topic = block_cell("meeting id"), block_cell("topic")
    meeting = Meeting(
        keys=[meeting_id, topic],
        what=f"meeting id {meeting_id} ({topic!r})",
        start=clock.read(block_cell("start time")),
        end=clock.read(block_cell("end time")),
        duration=_minutes(block_cell("duration (minutes)")),
        host_email=block_cell("user email"),
    )
    _zoom_segments(meeting, clock, header, data)
    meeting.notes += clock.notes()
    return meeting


def read_zoom_new(path: Path, config: Config) -> Meeting:
    block_cell, header, data, clock = _zoom_block(
        path, config, {"topic", "id", "host"}, "Topic, ID, Host")
    host = block_cell("host")
    host_match = re.fullmatch(r"\s*(.*?)\s*\(([^()]*@[^()]*)\)\s*", host)
    meeting_id, topic = block_cell("id", "meeting id"), block_cell("topic")
    meeting = Meeting(
        keys=[meeting_id, topic],
        what=f"meeting id {meeting_id} ({topic!r})",
        start=clock.read(block_cell("start time")),
        end=clock.read(block_cell("end time")),
        duration=_minutes(block_cell("duration (minutes)")),
        host_name=host_match[1] if host_match else host,
        host_email=host_match[2] if host_match else "",
    )
    _zoom_segments(meeting, clock, header, data)
    meeting.notes += clock.notes()
    return meeting


# --- Microsoft Teams --------------------------------------------------------------------------


def read_teams_legacy(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"full name", "user action", "timestamp"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Full Name / User Action / Timestamp' header found")
    header, data = table(rows, hi)
    clock = _Clock(path, config, _sample(header, data, "timestamp"), day_order_note="yes")
    meeting = Meeting(keys=[path.stem, _title_from_file_name(path.stem)],
                      what=f"meeting titled {path.stem!r} (the file name)")
    events: list[tuple[Row, str, str, datetime]] = []
    for row in data:
        meeting.rows_read += 1
        try:
            at = clock.read(cell(header, row, "timestamp"))
        except TimeFormatError as exc:
            _bad_time(meeting, row, "timestamp", exc)
            continue
        action = cell(header, row, "user action").lower()
        events.append((row, cell(header, row, "full name"), action, at))
    if not events:
        meeting.notes += clock.notes()
        return meeting
    report_start = min(e[3] for e in events)
    report_end = max(e[3] for e in events)
    open_joins: dict[str, tuple[Row, str, datetime]] = {}
    for row, name, action, at in sorted(events, key=lambda e: (e[3], e[0].line)):
        person = norm_name(name)
        if action.startswith("join"):  # "Joined", "Joined before"
            if person in open_joins:  # joined twice without leaving: close the first stretch
                jr, jn, jt = open_joins.pop(person)
                meeting.segments.append(Segment(jr.line, jn, "", jt, at))
            open_joins[person] = (row, name, at)
        elif action.startswith("left"):
            if person in open_joins:
                jr, jn, jt = open_joins.pop(person)
                meeting.segments.append(Segment(jr.line, jn, "", jt, at))
            else:  # left without a recorded join: present since the report began
                meeting.segments.append(Segment(row.line, name, "", report_start, at))
        else:
            meeting.quarantine.append(
                (row.line, None,
                 f"user action: unknown action {action!r}; expected Joined, Joined before or Left")
            )
    for jr, jn, jt in open_joins.values():  # still in the meeting when the list was downloaded
        meeting.segments.append(Segment(jr.line, jn, "", jt, report_end))
    # The "Left" events closing a stretch are folded into it: count them as merged rows.
    meeting.start = report_start
    meeting.end = report_end
    meeting.notes += clock.notes()
    return meeting


def read_teams_2021(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"full name", "join time", "leave time"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Full Name / Join Time / Leave Time' header found")
    summary = key_values(rows[:hi])
    header, data = table(rows, hi)
    samples = _sample(header, data, "join time", "leave time")
    samples += [summary.get("meeting start time", ""), summary.get("meeting end time", "")]
    clock = _Clock(path, config, samples, day_order_note="yes")
    title = summary.get("meeting title", "")
    meeting_id = summary.get("meeting id", "")
    meeting = Meeting(
        keys=[meeting_id, title, path.stem],
        what=f"meeting {title!r}" + (f" (id {meeting_id})" if meeting_id else ""),
    )
    if summary.get("meeting start time"):
        meeting.start = clock.read(summary["meeting start time"])
    if summary.get("meeting end time"):
        meeting.end = clock.read(summary["meeting end time"])
    _teams_segments(meeting, clock, header, data, "join time", "leave time")
    meeting.notes += clock.notes()
    return meeting


def _teams_segments(meeting, clock, header, data, join_col: str, leave_col: str) -> None:
    for row in data:
        meeting.rows_read += 1
        try:
            join = clock.read(cell(header, row, join_col))
            leave = clock.read(cell(header, row, leave_col))
        except TimeFormatError as exc:
            _bad_time(meeting, row, f"{join_col}/{leave_col}", exc)
            continue
        role = cell(header, row, "role").lower()
        meeting.segments.append(
            Segment(
                line=row.line,
                name=cell(header, row, "full name", "name"),
                email=cell(header, row, "email", "participant id (upn)"),
                join=join, leave=leave,
                minutes=_minutes(cell(header, row, "duration", "in-meeting duration")),
                host=role in {"organizer", "organiser"},
            )
        )


def read_teams_current(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    pi = find_header(rows, {"name", "first join", "last leave"})
    ai = find_header(rows, {"name", "join time", "leave time"})
    if pi is None and ai is None:
        raise AdapterError(
            f"{path}: no '2. Participants' or '3. In-Meeting activities' table found; download "
            "the attendance report again from the meeting's Attendance tab"
        )
    first_table = min(i for i in (pi, ai) if i is not None)
    summary = key_values(rows[:first_table])
    p_header, p_data = table(rows, pi) if pi is not None else ([], [])
    a_header, a_data = table(rows, ai) if ai is not None else ([], [])
    samples = [summary.get("start time", ""), summary.get("end time", "")]
    samples += _sample(p_header, p_data, "first join", "last leave")
    samples += _sample(a_header, a_data, "join time", "leave time")
    clock = _Clock(path, config, samples, day_order_note="yes")
    title = summary.get("meeting title", "") or summary.get("title", "")
    meeting_id = summary.get("meeting id", "")
    meeting = Meeting(
        keys=[meeting_id, title, path.stem],
        what=f"meeting {title!r}" + (f" (id {meeting_id})" if meeting_id else ""),
    )
    if summary.get("start time"):
        meeting.start = clock.read(summary["start time"])
    if summary.get("end time"):
        meeting.end = clock.read(summary["end time"])
    if summary.get("meeting duration"):
        meeting.duration = _minutes(summary["meeting duration"])
    # The activities table has every join/leave stretch; the participants table summarises it.
    if ai is not None:
        _teams_segments(meeting, clock, a_header, a_data, "join time", "leave time")
        organisers = {
            norm_name(cell(p_header, r, "name"))
            for r in p_data if cell(p_header, r, "role").lower() in {"organizer", "organiser"}
        }
        for seg in meeting.segments:
            seg.host = seg.host or norm_name(seg.name) in organisers
    else:
        _teams_segments(meeting, clock, p_header, p_data, "first join", "last leave")
    meeting.notes += clock.notes()
    return meeting


# --- Google Meet ---------------------------------------------------------------------------------

MEET_FILE_NAME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ _T](?P<h>\d{1,2})[:.\-_h]?(?P<m>\d{2})\s+(?P<name>.+?)"
    r"\s+-\s+Attendance Report(?:\s*\(\d+\))?$",
    re.IGNORECASE,
)


def read_google_meet(path: Path, config: Config) -> Meeting:
    found = MEET_FILE_NAME.match(path.stem)
    if not found:
        raise AdapterError(
            f"{path}: a Google Meet report's date and meeting name come from its file name, "
            "which must read 'YYYY-MM-DD HH:MM <Meeting name> - Attendance Report.csv' "
            "(rename the file to the name Meet gave it, e.g. "
            "'2025-06-03 18:30 Tuesday Circle - Attendance Report.csv')"
        )
    zone = ZoneInfo(config.time_zone)
    day = date.fromisoformat(found["date"])
    start = datetime(day.year, day.month, day.day, int(found["h"]), int(found["m"]), tzinfo=zone)
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"first name", "time joined", "time exited"})
    if hi is None:
        raise AdapterError(f"{path}: no 'First name / Time joined / Time exited' header found")
    header, data = table(rows, hi)
    meeting = Meeting(keys=[found["name"]], what=f"meeting {found['name']!r} (from the file name)")
    meeting.start = start
    meeting.prefer_reported_minutes = True

    def on_day(text: str, after: datetime) -> datetime:
        t = parse_time_of_day(text)
        at = datetime.combine(day, t, tzinfo=zone)
        # A meeting that runs past midnight: times well before the start belong to the next day.
        while at < after - timedelta(hours=12):
            at += timedelta(days=1)
        return at

    for row in data:
        meeting.rows_read += 1
        name = " ".join(
            p for p in (cell(header, row, "first name"), cell(header, row, "last name")) if p
        )
        try:
            join = on_day(cell(header, row, "time joined"), start)
            leave = on_day(cell(header, row, "time exited"), join)
            if leave < join:
                leave += timedelta(days=1)
            minutes = parse_duration_minutes(cell(header, row, "duration"))
        except TimeFormatError as exc:
            _bad_time(meeting, row, "time joined/time exited", exc)
            continue
        meeting.segments.append(
            Segment(row.line, name, cell(header, row, "email"), join, leave, minutes)
        )
    meeting.notes.append(
        f"times had no zone; read as {config.time_zone} (program.time_zone); date from the "
        "file name"
    )
    return meeting


# --- events held in person ------------------------------------------------------------------------

_FILE_DATE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[ _T](?P<h>\d{1,2})[:.\-_h]?(?P<m>\d{2}))?"
)


def _title_from_file_name(stem: str) -> str:
    """The event title a file name carries once dates and export words are taken out."""
    t = _FILE_DATE.sub(" ", stem)
    t = re.sub(r"\b(guests?|attendees?|attendance|list|export|report|summary)\b", " ", t,
               flags=re.IGNORECASE)
    t = re.sub(r"[_]+", " ", t)
    t = re.sub(r"(\s*-\s*)+", " - ", t)
    return " ".join(t.strip(" -").split())


def _date_from_file_name(path: Path, zone: ZoneInfo) -> datetime | None:
    found = _FILE_DATE.search(path.stem)
    if not found:
        return None
    day = date.fromisoformat(found["date"])
    hour, minute = (int(found["h"]), int(found["m"])) if found["h"] else (0, 0)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _file_date_note(path: Path, config: Config) -> str:
    if _FILE_DATE.search(path.stem)["h"]:
        return (f"event date and start time from the file name, read as {config.time_zone} "
                "(program.time_zone)")
    return ("event date from the file name; no start time there, so the session starts at "
            f"midnight {config.time_zone}")


def _no_date(path: Path, tool: str) -> AdapterError:
    return AdapterError(
        f"{path}: a {tool} export does not say when the event was held; put its date (and "
        f"start time) at the start of the file name, e.g. '2025-06-03 18:30 {path.stem}.csv'"
    )


def read_meetup(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"name", "attendance", "user id"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Name / Attendance / User ID' header found")
    header, data = table(rows, hi)
    zone = ZoneInfo(config.time_zone)
    start = _date_from_file_name(path, zone)
    if start is None:
        raise _no_date(path, "Meetup")
    urlnames = [
        m[1] for r in data
        if (m := re.search(r"meetup\.com/([^/]+)/members/", cell(header, r, "url of member profile")))
    ]
    title = _title_from_file_name(path.stem)
    keys = ([urlnames[0]] if urlnames else []) + [title]
    what = (f"Meetup group {urlnames[0]!r} / " if urlnames else "") + f"event {title!r}"
    meeting = Meeting(keys=keys, what=what, start=start, in_person=True)
    for row in data:
        meeting.rows_read += 1
        if cell(header, row, "attendance").strip().lower() not in {"y", "yes", "attended"}:
            meeting.excluded += 1
            continue
        meeting.segments.append(
            Segment(
                row.line, cell(header, row, "name"), "",
                host=cell(header, row, "event host").strip().lower() in {"y", "yes"},
            )
        )
    meeting.notes.append(_file_date_note(path, config))
    return meeting


def read_luma(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"api_id", "approval_status", "checked_in_at"})
    if hi is None:
        raise AdapterError(f"{path}: no 'api_id / approval_status / checked_in_at' header found")
    header, data = table(rows, hi)
    zone = ZoneInfo(config.time_zone)
    title = _title_from_file_name(path.stem)
    meeting = Meeting(keys=[title], what=f"event {title!r} (the file name)", in_person=True)
    for row in data:
        meeting.rows_read += 1
        status = cell(header, row, "approval_status").lower()
        checked_in = cell(header, row, "checked_in_at")
        if status != "approved" or not checked_in:
            meeting.excluded += 1  # pending, declined, invited, or approved but never came
            continue
        try:
            at, _ = parse_datetime(checked_in, zone)
        except TimeFormatError as exc:
            _bad_time(meeting, row, "checked_in_at", exc)
            continue
        name = cell(header, row, "name") or " ".join(
            p for p in (cell(header, row, "first_name"), cell(header, row, "last_name")) if p
        )
        meeting.segments.append(Segment(row.line, name, cell(header, row, "email"),
                                        join=at.astimezone(zone)))
    meeting.start = _date_from_file_name(path, zone)
    if meeting.start is not None and _FILE_DATE.search(path.stem)["h"]:
        meeting.notes.append(_file_date_note(path, config))
    else:
        joins = [s.join for s in meeting.segments if s.join]
        if joins:
            meeting.start = min(joins)
            meeting.notes.append("session starts_at is the first check-in (the export has no "
                                 "event start)")
    if meeting.start is None:
        raise _no_date(path, "Luma")
    meeting.notes.append(f"check-in times are UTC; converted to {config.time_zone}")
    return meeting


def read_eventbrite(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"order #", "attendee #", "attendee status"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Order # / Attendee # / Attendee Status' header found")
    header, data = table(rows, hi)
    zone = ZoneInfo(config.time_zone)
    event_name = next((cell(header, r, "event name") for r in data if cell(header, r, "event name")), "")
    event_id = next((cell(header, r, "event id") for r in data if cell(header, r, "event id")), "")
    title = event_name or _title_from_file_name(path.stem)
    meeting = Meeting(
        keys=[event_id, title],
        what=f"event {title!r}" + (f" (id {event_id})" if event_id else ""),
        in_person=True,
    )
    event_start = next(
        (f"{cell(header, r, 'event start date')} {cell(header, r, 'event start time')}".strip()
         for r in data if cell(header, r, "event start date")), "",
    )
    if event_start:
        clock = _Clock(path, config, [event_start])
        meeting.start = clock.read(event_start)
        meeting.notes += clock.notes()
    else:
        meeting.start = _date_from_file_name(path, zone)
        if meeting.start is None:
            raise _no_date(path, "Eventbrite")
        meeting.notes.append(_file_date_note(path, config))
    for row in data:
        meeting.rows_read += 1
        if cell(header, row, "attendee status").strip().lower() != "checked in":
            meeting.excluded += 1
            continue
        name = " ".join(
            p for p in (cell(header, row, "first name"), cell(header, row, "last name")) if p
        )
        meeting.segments.append(Segment(row.line, name, cell(header, row, "email")))
    return meeting


READERS = {
    "zoom_classic": read_zoom_classic,
    "zoom_meeting_data": read_zoom_meeting_data,
    "zoom_new": read_zoom_new,
    "teams_legacy": read_teams_legacy,
    "teams_2021": read_teams_2021,
    "teams_current": read_teams_current,
    "google_meet": read_google_meet,
    "meetup": read_meetup,
    "luma": read_luma,
    "eventbrite": read_eventbrite,
}


# --- the common part -----------------------------------------------------------------------------


def _unmapped(path: Path, meeting: Meeting, config: Config) -> AdapterError:
    key = next((k for k in meeting.keys if k), path.stem)
    where = f" in {config.source}" if config.source else " in hearth.toml"
    return AdapterError(
        f"{path}: {meeting.what} is not mapped to a group; add the line "
        f'"{key}" = "<group_id>" under [meetings]{where} and ingest the file again'
    )


def _group_named(keys: list[str], roster: pd.DataFrame) -> str | None:
    """The group whose display name is the meeting's title (the roster may carry group_name)."""
    if "group_name" not in roster.columns or not len(roster):
        return None
    names: dict[str, set[str]] = {}
    for group, name in roster[["group_id", "group_name"]].drop_duplicates().itertuples(index=False):
        if isinstance(name, str) and name.strip():
            names.setdefault(" ".join(name.lower().split()), set()).add(str(group))
    for key in keys:
        found = names.get(" ".join((key or "").lower().split()), set())
        if len(found) == 1:
            return next(iter(found))
    return None


def parse_attendance(path: Path, fmt: str, config: Config, roster: pd.DataFrame) -> Parsed:
    meeting = READERS[fmt](path, config)
    return build_attendance(path, fmt, meeting, config, roster)


def build_attendance(
    path: Path, fmt: str, meeting: Meeting, config: Config, roster: pd.DataFrame
) -> Parsed:
    notes = list(meeting.notes)
    group = config.group_for_meeting(*meeting.keys)
    if group is None:
        group = _group_named(meeting.keys, roster)
        if group is None:
            raise _unmapped(path, meeting, config)
        notes.append(f"{meeting.what} has the name of group {group}; map it under [meetings] "
                     "in hearth.toml to make that explicit")
    zone = ZoneInfo(config.time_zone)
    joins = [s.join for s in meeting.segments if s.join]
    leaves = [s.leave for s in meeting.segments if s.leave]
    start = meeting.start or (min(joins) if joins else None)
    if start is None:
        raise AdapterError(
            f"{path}: no attendee with a join time and no meeting start; nothing to load "
            "(export the report again after the meeting has ended)"
        )
    start = start.astimezone(zone)
    session_id = f"{group}-{start.date().isoformat()}"

    members = roster[roster["group_id"].astype(str) == group] if len(roster) else roster
    matcher = RosterMatcher(members.to_dict("records") if len(members) else [])

    # One participant per roster member, or per guest (by email, else by name).
    participants: dict[str, dict] = {}
    order: list[str] = []
    for seg in sorted(meeting.segments, key=lambda s: s.line):
        found = matcher.match(seg.name, seg.email)
        key = found.member_id or "guest:" + (seg.email.strip().lower() or norm_name(seg.name))
        if key not in participants:
            participants[key] = {"member_id": found.member_id, "name": seg.name, "segments": []}
            order.append(key)
        participants[key]["segments"].append(seg)

    attendance_rows = []
    guests: list[str] = []
    quarantine = list(meeting.quarantine)
    for key in order:
        p = participants[key]
        segs: list[Segment] = p["segments"]
        line = min(s.line for s in segs)
        intervals = [(s.join, s.leave) for s in segs if s.join and s.leave]
        reported = [s.minutes for s in segs if s.minutes is not None]
        if meeting.prefer_reported_minutes and len(reported) == len(segs):
            minutes = str(whole_minutes(sum(reported)))
        elif intervals:
            minutes = str(whole_minutes(union_minutes(intervals)))
        elif any(s.minutes is not None for s in segs):
            minutes = str(whole_minutes(sum(s.minutes or 0 for s in segs)))
        else:
            minutes = ""
        if p["member_id"] is None:
            label = p["name"] or "(no name)"
            if label not in guests:
                guests.append(label)
            quarantine.append(
                (line, None,
                 f"participant {label!r} matched no member of group {group}'s roster by email "
                 "or name; listed as a guest (add them to members.csv if they belong to the "
                 "group)")
            )
            continue
        attendance_rows.append(
            {"session_id": session_id, "member_id": p["member_id"], "status": "attended",
             "minutes": minutes, "line": line}
        )

    host_member = ""
    if meeting.host_email or meeting.host_name:
        host_member = matcher.match(meeting.host_name, meeting.host_email).member_id or ""
    if not host_member:
        hosts = [p["member_id"] for k in order if (p := participants[k])["member_id"]
                 and any(s.host for s in p["segments"])]
        host_member = hosts[0] if hosts else ""

    if meeting.duration:
        duration = meeting.duration
    elif meeting.start and meeting.end:
        duration = (meeting.end - meeting.start).total_seconds() / 60
    elif joins and leaves:
        duration = (max(leaves) - min(joins)).total_seconds() / 60
    else:
        duration = IN_PERSON_DEFAULT_MINUTES
        notes.append(
            f"the export has no session length; duration_minutes set to "
            f"{IN_PERSON_DEFAULT_MINUTES} (correct it in a sessions.csv if it matters)"
        )
    sessions = pd.DataFrame(
        [{
            "session_id": session_id,
            "group_id": group,
            "starts_at": iso(start),
            "duration_minutes": str(max(1, whole_minutes(duration))),
            "host_member_id": host_member,
            "modality": "in_person" if meeting.in_person else "video",
            "captioned": "false",
        }],
        columns=SESSION_COLUMNS,
    ).astype("str")
    attendance = pd.DataFrame(attendance_rows, columns=ATTENDANCE_COLUMNS)
    attendance = attendance.astype({c: "str" for c in ATTENDANCE_COLUMNS if c != "line"})
    attendance["line"] = attendance["line"].astype("int64")

    merged = meeting.rows_read - meeting.excluded - len(order) - len(meeting.quarantine)
    return Parsed(
        format=fmt,
        kind="attendance",
        rows_read=meeting.rows_read,
        sessions=sessions,
        attendance=attendance.reset_index(drop=True),
        survey=None,
        quarantine=quarantine,
        rows_merged=merged,
        rows_excluded=meeting.excluded,
        guests=guests,
        notes=notes,
    )
