"""Luma guest list: approved guests with a check-in time attended."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.config import Config
from pipelines.adapters.attendance import (
    FILE_DATE,
    Meeting,
    Segment,
    bad_time,
    date_from_file_name,
    file_date_note,
    no_event_date,
    title_from_file_name,
)
from pipelines.adapters.base import AdapterError, Format, Signature, header_words
from pipelines.adapters.common import (
    TimeFormatError,
    cell,
    find_header,
    parse_datetime,
    read_file_rows,
    table,
)


def read_luma(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"api_id", "approval_status", "checked_in_at"})
    if hi is None:
        raise AdapterError(f"{path}: no 'api_id / approval_status / checked_in_at' header found")
    header, data = table(rows, hi)
    zone = ZoneInfo(config.time_zone)
    title = title_from_file_name(path.stem)
    meeting = Meeting(keys=[title], what=f"event {title!r} (the file name)", in_person=True)
    if data and not any(cell(header, row, "checked_in_at") for row in data):
        # Every guest a no-show is far likelier a list downloaded before anyone was checked in
        # than an event nobody came to: loading it would record a held session of absences.
        raise AdapterError(
            f"{path}: this Luma guest list has no check-ins (checked_in_at is empty for every "
            f"one of its {len(data)} guests), so it says nothing about who came; no attendance "
            "loaded. Check guests in on Luma (at the door or afterwards) and download the guest "
            "list again"
        )
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
            bad_time(meeting, row, "checked_in_at", exc)
            continue
        name = cell(header, row, "name") or " ".join(
            p for p in (cell(header, row, "first_name"), cell(header, row, "last_name")) if p
        )
        meeting.segments.append(Segment(row.line, name, cell(header, row, "email"),
                                        join=at.astimezone(zone)))
    meeting.start = date_from_file_name(path, zone)
    if meeting.start is not None and FILE_DATE.search(path.stem)["h"]:
        meeting.notes.append(file_date_note(path, config))
    else:
        joins = [s.join for s in meeting.segments if s.join]
        if joins:
            meeting.start = min(joins)
            meeting.notes.append("session starts_at is the first check-in (the export has no "
                                 "event start)")
    if meeting.start is None and meeting.rows_read:  # (no guests at all: the registry says so)
        raise no_event_date(path, "Luma")
    meeting.notes.append(f"check-in times are UTC; converted to {config.time_zone}")
    return meeting


FORMAT = Format(
    name="luma",
    title="Luma guest list",
    kind="attendance",
    how_to_export="Luma event > Guests > Download as CSV.",
    description="BOM; ISO UTC check-in times; an empty checked_in_at is a no-show; only approved, "
        "checked-in guests attended.",
    signatures=(Signature(rows=header_words({"api_id", "approval_status", "checked_in_at"})),),
    read=read_luma,
)
