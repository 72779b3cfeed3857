"""Eventbrite attendee report: one row per ticket; Checked In attended."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.config import Config
from pipelines.adapters.attendance import (
    Clock,
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


def read_eventbrite(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"order #", "attendee #", "attendee status"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Order # / Attendee # / Attendee Status' header found")
    header, data = table(rows, hi)
    zone = ZoneInfo(config.time_zone)
    event_name = next((cell(header, r, "event name") for r in data if cell(header, r, "event name")), "")
    event_id = next((cell(header, r, "event id") for r in data if cell(header, r, "event id")), "")
    title = event_name or title_from_file_name(path.stem)
    meeting = Meeting(
        keys=[event_id, title],
        what=(f"event {title!r}" + (f" (id {event_id})" if event_id else "")) if title
        else f"event id {event_id}" if event_id else f"event in {path.name!r}",
        in_person=True,
    )
    event_start = next(
        (f"{cell(header, r, 'event start date')} {cell(header, r, 'event start time')}".strip()
         for r in data if cell(header, r, "event start date")), "",
    )
    if event_start:
        clock = Clock(path, config, [event_start])
        meeting.start = clock.read(event_start)
        meeting.notes += clock.notes()
    else:
        meeting.start = date_from_file_name(path, zone)
        if meeting.start is None:
            raise no_event_date(path, "Eventbrite")
        meeting.notes.append(file_date_note(path, config))
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


FORMAT = Format(
    name="eventbrite",
    title="Eventbrite attendee report",
    kind="attendance",
    how_to_export="Eventbrite > Reports > Attendee summary > Export CSV; put the event date at the start "
        "of the file name unless the report has Event Start Date.",
    description="One row per ticket; Attendee Status 'Checked In' attended.",
    signatures=(Signature(rows=header_words({"order #", "attendee #", "attendee status"})),),
    read=read_eventbrite,
)
