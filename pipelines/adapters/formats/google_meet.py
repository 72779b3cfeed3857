"""Google Meet attendance report: the date and meeting name come from the file name."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.config import Config
from pipelines.adapters.attendance import (
    Meeting,
    Segment,
    bad_time,
)
from pipelines.adapters.base import AdapterError, Format, Signature, header_words
from pipelines.adapters.common import (
    TimeFormatError,
    cell,
    find_header,
    parse_duration_minutes,
    parse_time_of_day,
    read_file_rows,
    table,
)

MEET_FILE_NAME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ _T](?P<h>\d{1,2})[:.\-_h]?(?P<m>\d{2})\s+(?P<name>.+?)"
    # Downloaded from the Sheet, the name gains the tab's (' - Sheet1'); twice, a browser's ' (1)'.
    r"\s+-\s+Attendance Report(?:\s+-\s+[^-]+?)?(?:\s*\(\d+\))?$",
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
            bad_time(meeting, row, "time joined/time exited", exc)
            continue
        meeting.segments.append(
            Segment(row.line, name, cell(header, row, "email"), join, leave, minutes)
        )
    meeting.notes.append(
        f"times had no zone; read as {config.time_zone} (program.time_zone); date from the "
        "file name"
    )
    return meeting


FORMAT = Format(
    name="google_meet",
    title="Google Meet attendance report",
    kind="attendance",
    how_to_export="Meet attendance tracking emails the organiser a Sheet: File > Download > CSV; keep the "
        "name 'YYYY-MM-DD HH:MM <Meeting name> - Attendance Report.csv'.",
    description="First name, Last name, Email, Duration, Time joined, Time exited; date and meeting name "
        "come from the file name.",
    signatures=(Signature(rows=header_words({"first name", "last name", "time joined", "time exited"})),),
    read=read_google_meet,
)
