"""Real exports in: meeting and survey tool exports turned into Hearth's canonical frames.

Detection reads content (byte-order mark, encoding, delimiter, header signature), never only
the file name. Parsing is pure: an adapter returns canonical frames plus what it turned away,
and pipelines.ingest validates and loads them like any canonical file.

    fmt = detect_format(path, path.read_bytes()[:65536])
    parsed = parse_export(path, fmt, config, roster, instrument)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from hearth.errors import HearthError

if TYPE_CHECKING:
    import pandas as pd

    from hearth.config import Config
    from hearth.instrument import Instrument


class AdapterError(HearthError, ValueError):
    """An export that cannot be read; the message names the file, the problem and the fix."""


@dataclass
class Parsed:
    format: str
    kind: str                   # "attendance" or "survey_responses"
    rows_read: int
    sessions: pd.DataFrame | None
    attendance: pd.DataFrame | None
    survey: pd.DataFrame | None
    quarantine: list[tuple[int | None, str | None, str]]
    rows_merged: int = 0
    rows_excluded: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _frame(self) -> pd.DataFrame | None:
        return self.attendance if self.kind == "attendance" else self.survey

    @property
    def rows_quarantined(self) -> int:
        """Source rows turned away whole: quarantine lines that produced no row.

        A survey answer dropped for an unknown label is quarantined while the rest of its
        response loads; its line is in the survey frame, so it is not counted here.
        rows_read = len(frame) + rows_quarantined + rows_excluded + rows_merged.
        """
        frame = self._frame()
        kept = set(frame["line"].tolist()) if frame is not None else set()
        return len({line for line, _, _ in self.quarantine if line not in kept})

    def reconciles(self) -> bool:
        frame = self._frame()
        loaded = len(frame) if frame is not None else 0
        return self.rows_read == (
            loaded + self.rows_quarantined + self.rows_excluded + self.rows_merged
        )


class FormatInfo(NamedTuple):
    title: str
    kind: str
    how_to_export: str
    description: str


FORMATS: dict[str, FormatInfo] = {
    "zoom_classic": FormatInfo(
        "Zoom participant report (classic)", "attendance",
        "Zoom web portal > Reports > Usage > Participants > Export (without meeting data).",
        "One row per join/leave segment: Name (Original Name), User Email, Join Time, Leave Time. "
        "Meeting id from the file name participants_<id>.csv.",
    ),
    "zoom_meeting_data": FormatInfo(
        "Zoom participant report with meeting data", "attendance",
        "Zoom web portal > Reports > Usage > Participants > tick 'Export with meeting data'.",
        "Meeting block (Meeting ID, Topic, Start Time, End Time, User Email = host), a blank "
        "line, then one row per join/leave segment.",
    ),
    "zoom_new": FormatInfo(
        "Zoom participant report (newer interface)", "attendance",
        "Zoom web portal > Reports > Usage > Participants > Export (new reports page).",
        "UTF-8 with BOM; meeting block Topic, ID, Host 'Name (email)'; segments with "
        "'In waiting room' (waiting-room time is not attendance).",
    ),
    "teams_legacy": FormatInfo(
        "Microsoft Teams attendance list (legacy)", "attendance",
        "Teams meeting > Participants > Download attendance list (2020-early 2021).",
        "UTF-16, tab-separated events: Full Name, User Action (Joined / Left / Joined before), "
        "Timestamp. Names no meeting: the file name is the meeting title.",
    ),
    "teams_2021": FormatInfo(
        "Microsoft Teams attendance report (mid-2021)", "attendance",
        "Teams meeting > Participants > Download attendance list (mid-2021).",
        "Meeting Summary block (title, id, start, end), then Full Name, Join Time, Leave Time, "
        "Duration (29m 22s), Email, Role.",
    ),
    "teams_current": FormatInfo(
        "Microsoft Teams attendance report", "attendance",
        "Teams calendar > the meeting > Attendance > Download.",
        "UTF-16 sections 1. Summary / 2. Participants / 3. In-Meeting activities; dates in the "
        "organiser's locale (day- or month-first), durations 2h 30m 1s.",
    ),
    "google_meet": FormatInfo(
        "Google Meet attendance report", "attendance",
        "Meet attendance tracking emails the organiser a Sheet: File > Download > CSV; keep the "
        "name 'YYYY-MM-DD HH:MM <Meeting name> - Attendance Report.csv'.",
        "First name, Last name, Email, Duration, Time joined, Time exited; date and meeting name "
        "come from the file name.",
    ),
    "meetup": FormatInfo(
        "Meetup attendee list", "attendance",
        "Meetup event > Manage attendees > Download attendee list; put the event date at the "
        "start of the file name ('2025-06-03 18:30 Walk and Talk.csv').",
        "Name, Attendance (Y = came), User ID, Event Host, RSVP; in person unless mapped "
        "otherwise.",
    ),
    "luma": FormatInfo(
        "Luma guest list", "attendance",
        "Luma event > Guests > Download as CSV.",
        "BOM; ISO UTC check-in times; an empty checked_in_at is a no-show; only approved, "
        "checked-in guests attended.",
    ),
    "eventbrite": FormatInfo(
        "Eventbrite attendee report", "attendance",
        "Eventbrite > Reports > Attendee summary > Export CSV; put the event date at the start "
        "of the file name unless the report has Event Start Date.",
        "One row per ticket; Attendee Status 'Checked In' attended.",
    ),
    "google_forms": FormatInfo(
        "Google Forms responses", "survey_responses",
        "Form > Responses > the three dots > Download responses (.csv).",
        "Timestamp with zone (EST, GMT+5:30), optional Email Address, question text headers, "
        "grids as 'Question [Row]'.",
    ),
    "microsoft_forms": FormatInfo(
        "Microsoft Forms responses (.xlsx)", "survey_responses",
        "Form > Responses > Open results in Excel (save the .xlsx).",
        "ID, Start time, Completion time, Email ('anonymous'), Name, then question columns.",
    ),
    "typeform": FormatInfo(
        "Typeform responses", "survey_responses",
        "Typeform > Results > Responses > Download all responses (.csv).",
        "#, question columns, Response Type, Start Date (UTC), Submit Date (UTC), Network ID.",
    ),
    "surveymonkey": FormatInfo(
        "SurveyMonkey responses", "survey_responses",
        "Analyze Results > Save as > Export file > All individual responses > CSV (Expanded).",
        "Two header rows: question (filled forward) over Response / Open-Ended Response / "
        "option or matrix-row label.",
    ),
    "qualtrics": FormatInfo(
        "Qualtrics responses", "survey_responses",
        "Data & Analysis > Export & Import > Export data > CSV (choice text).",
        "Three header rows (ids, question texts, ImportId JSON with the time zone); Finished = "
        "False responses are incomplete.",
    ),
    "limesurvey": FormatInfo(
        "LimeSurvey responses", "survey_responses",
        "Responses > Export > CSV, 'Full answers', headings 'Question code' or 'Full question text'.",
        "Every field quoted; id, submitdate (empty = incomplete), ipaddr; sub-questions Q[SQ001].",
    ),
}


def detect_format(path: Path, head: bytes) -> str | None:
    """The export format of a file from its content, or None when it is no export Hearth knows."""
    from pipelines.adapters.detect import detect

    return detect(Path(path), head)


def parse_export(
    path: Path, fmt: str, config: Config, roster: pd.DataFrame, instrument: Instrument
) -> Parsed:
    """Read one export into canonical frames. Raises AdapterError for a file it cannot use."""
    path = Path(path)
    if fmt not in FORMATS:
        raise AdapterError(
            f"{path}: unknown export format {fmt!r}; use one of {', '.join(FORMATS)} "
            "(see `hearth formats`)"
        )
    from pipelines.adapters.common import TimeFormatError

    try:
        if FORMATS[fmt].kind == "attendance":
            from pipelines.adapters.attendance import parse_attendance

            return parse_attendance(path, fmt, config, roster)
        from pipelines.adapters.surveys import parse_survey

        return parse_survey(path, fmt, config, instrument)
    except TimeFormatError as exc:  # a meeting-level time (start, end) nobody could read
        raise AdapterError(
            f"{path}: {_detail(exc, fmt, as_text=True)}; this does not look like a {FORMATS[fmt].title} export "
            "as the tool writes it (download it again, or check --format)"
        ) from None
    except (IndexError, KeyError, ValueError) as exc:
        if isinstance(exc, AdapterError):
            raise
        raise AdapterError(
            f"{path}: not laid out like a {FORMATS[fmt].title} export ({_detail(exc, fmt)}); "
            "download it again from the tool, or check --format (`hearth formats` lists them)"
        ) from None


def _detail(exc: Exception, fmt: str, as_text: bool = False) -> str:
    """What went wrong, for the message. A survey export's cells are answers, and an exception
    may quote the cell it choked on: for surveys only the kind of problem is named."""
    if FORMATS[fmt].kind == "survey_responses":
        return f"{type(exc).__name__} while reading its rows"
    return str(exc) if as_text else repr(exc)


def unknown_format_message(path: Path) -> str:
    """What to tell someone whose file is neither canonical nor an export Hearth knows."""
    lines = [
        f"{path}: not a canonical Hearth CSV and not an export Hearth recognises.",
        "Hearth reads these exports (their header rows are recognised automatically):",
    ]
    lines += [f"  {name:<18} {info.title}" for name, info in FORMATS.items()]
    lines += [
        "If the file is one of these, force it with `hearth ingest --format NAME FILE`.",
        "Otherwise rearrange it as a canonical CSV (docs/formats.md: sessions.csv + "
        "attendance.csv, or survey_responses.csv) and ingest that; map meetings to groups under "
        "[meetings] in hearth.toml.",
    ]
    return "\n".join(lines)


def format_list() -> str:
    """The text `hearth formats` prints."""
    import textwrap

    out = []
    pad = " " * 21
    for kind, heading in (("attendance", "Attendance"), ("survey_responses", "Surveys")):
        out.append(f"{heading}:")
        for name, info in FORMATS.items():
            if info.kind == kind:
                out.append(f"  {name:<18} {info.title}")
                for label, text in (("export: ", info.how_to_export), ("reads:  ", info.description)):
                    out += textwrap.wrap(text, 98, initial_indent=pad + label,
                                         subsequent_indent=pad + " " * len(label))
        out.append("")
    out.append("Meetings map to groups under [meetings] in hearth.toml (meeting id or title).")
    return "\n".join(out)
