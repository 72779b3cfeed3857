"""Meetup attendee list: who came (Attendance Y); the event date comes from the file name."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.config import Config
from pipelines.adapters.attendance import (
    Meeting,
    Segment,
    date_from_file_name,
    file_date_note,
    no_event_date,
    title_from_file_name,
)
from pipelines.adapters.base import AdapterError, Format, Signature, header_words
from pipelines.adapters.common import (
    cell,
    find_header,
    read_file_rows,
    table,
)


def read_meetup(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"name", "attendance", "user id"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Name / Attendance / User ID' header found")
    header, data = table(rows, hi)
    zone = ZoneInfo(config.time_zone)
    start = date_from_file_name(path, zone)
    if start is None:
        raise no_event_date(path, "Meetup")
    urlnames = [
        m[1] for r in data
        if (m := re.search(r"meetup\.com/([^/]+)/members/", cell(header, r, "url of member profile")))
    ]
    title = title_from_file_name(path.stem)
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
    meeting.notes.append(file_date_note(path, config))
    return meeting


FORMAT = Format(
    name="meetup",
    title="Meetup attendee list",
    kind="attendance",
    how_to_export="Meetup event > Manage attendees > Download attendee list; put the event date at the "
        "start of the file name ('2025-06-03 18:30 Walk and Talk.csv').",
    description="Name, Attendance (Y = came), User ID, Event Host, RSVP; in person unless mapped "
        "otherwise.",
    signatures=(Signature(rows=header_words({"name", "attendance", "user id"})),),
    read=read_meetup,
)
