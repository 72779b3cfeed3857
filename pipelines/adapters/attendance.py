"""Meeting and event exports -> canonical sessions and attendance: what every format shares.

Each tool's reader (one module per format under pipelines/adapters/formats/) turns its file
into a Meeting (what the export says about the meeting) and
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
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hearth.config import Config
from pipelines.adapters.base import AdapterError, Parsed
from pipelines.adapters.common import (
    EXCEL_SERIAL_NOTE,
    RosterMatcher,
    Row,
    TimeFormatError,
    cell,
    date_parts,
    decide_month_first,
    excel_serial,
    iso,
    norm_name,
    parse_datetime,
    parse_duration_minutes,
    union_minutes,
    whole_minutes,
)

if TYPE_CHECKING:
    import pandas as pd

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


class Clock:
    """Reads a file's times in one zone and day order, remembering whether any lacked a zone."""

    def __init__(self, path: Path, config: Config, samples: list[str], day_order_note: str = "",
                 language: str = ""):
        self.path = path
        self.zone_name = config.time_zone
        self.zone = ZoneInfo(config.time_zone)
        self.month_first, self.how = decide_month_first(samples, config.time_zone, language)
        # An order the dates themselves do not prove (taken from the clock, the interface
        # language or the program's zone) is said, so a wrong guess can be seen and corrected.
        guessed = "read from the data" not in self.how and any(date_parts(s) for s in samples)
        self.day_order_note = day_order_note or ("yes" if guessed else "")
        self.zoneless = False
        self.excel_serials = False

    def read(self, text: str) -> datetime:
        dt, had_zone = parse_datetime(text, self.zone, self.month_first)
        if not had_zone:
            self.zoneless = True
        if excel_serial(text) is not None:
            self.excel_serials = True
        return dt.astimezone(self.zone)

    def notes(self) -> list[str]:
        out = [EXCEL_SERIAL_NOTE] if self.excel_serials else []
        if self.zoneless:
            out.append(f"times had no zone; read as {self.zone_name} (program.time_zone)")
        if self.day_order_note:
            out.append(f"dates read {self.how}")
        return out


def bad_time(meeting: Meeting, row: Row, column: str, exc: Exception) -> None:
    # A row-level rejection: the column is named in the reason, column_name stays empty.
    meeting.quarantine.append(
        (row.line, None,
         f"{column}: {exc}; expected a date and time such as 11/19/2021 09:54:15 AM")
    )


def reported_minutes(text: str) -> float | None:
    """A tool's own duration, or None when it is missing or unreadable (times then decide)."""
    try:
        return parse_duration_minutes(text)
    except TimeFormatError:
        return None


def sample_times(header: list[str], data: list[Row], *columns: str) -> list[str]:
    return [cell(header, r, c) for r in data for c in columns if cell(header, r, c)]


# --- dates and titles from file names (events held in person, Teams legacy) ------------------------------------------------------------------------

FILE_DATE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[ _T](?P<h>\d{1,2})[:.\-_h]?(?P<m>\d{2}))?"
)


def title_from_file_name(stem: str) -> str:
    """The event title a file name carries once dates and export words are taken out."""
    t = FILE_DATE.sub(" ", stem)
    t = re.sub(r"\b(guests?|attendees?|attendance|list|export|report|summary)\b", " ", t,
               flags=re.IGNORECASE)
    t = re.sub(r"[_]+", " ", t)
    t = re.sub(r"(\s*-\s*)+", " - ", t)
    return " ".join(t.strip(" -").split())


def date_from_file_name(path: Path, zone: ZoneInfo) -> datetime | None:
    found = FILE_DATE.search(path.stem)
    if not found:
        return None
    day = date.fromisoformat(found["date"])
    hour, minute = (int(found["h"]), int(found["m"])) if found["h"] else (0, 0)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def file_date_note(path: Path, config: Config) -> str:
    if FILE_DATE.search(path.stem)["h"]:
        return (f"event date and start time from the file name, read as {config.time_zone} "
                "(program.time_zone)")
    return ("event date from the file name; no start time there, so the session starts at "
            f"midnight {config.time_zone}")


def no_event_date(path: Path, tool: str) -> AdapterError:
    return AdapterError(
        f"{path}: a {tool} export does not say when the event was held; put its date (and "
        f"start time) at the start of the file name, e.g. '2025-06-03 18:30 {path.stem}.csv'"
    )


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
            participants[key] = {"member_id": found.member_id, "name": seg.name, "segments": [],
                                 "suggestion": found.suggestion}
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
        # A row repeated exactly (two downloads pasted together) is one stretch, not two: sums
        # of the tool's own durations count each distinct stretch once (unions do anyway).
        distinct = list({(s.join, s.leave, s.minutes): s for s in segs}.values())
        reported = [s.minutes for s in distinct if s.minutes is not None]
        if meeting.prefer_reported_minutes and len(reported) == len(distinct):
            minutes = str(whole_minutes(sum(reported)))
        elif intervals:
            minutes = str(whole_minutes(union_minutes(intervals)))
        elif reported:
            minutes = str(whole_minutes(sum(reported)))
        else:
            minutes = ""
        if p["member_id"] is None:
            label = p["name"] or "(no name)"
            if label not in guests:
                guests.append(label)
            if p["suggestion"]:
                fix = (f"closest roster entry: {p['suggestion']}; if that is them, put the name "
                       "they use in meetings or their email in members.csv, otherwise add them "
                       "to members.csv if they belong to the group")
            else:
                fix = "add them to members.csv if they belong to the group"
            quarantine.append(
                (line, None,
                 f"participant {label!r} matched no member of group {group}'s roster by email "
                 f"or name; listed as a guest ({fix})")
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
    # pandas deferred: `hearth formats` lists the registry without loading any file
    import pandas as pd

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

