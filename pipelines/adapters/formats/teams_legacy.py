"""Microsoft Teams attendance list, legacy (2020-early 2021): UTF-16 join/leave events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hearth.config import Config
from pipelines.adapters.attendance import (
    Clock,
    Meeting,
    Segment,
    bad_time,
    sample_times,
    title_from_file_name,
)
from pipelines.adapters.base import AdapterError, Format, Signature, header_words
from pipelines.adapters.common import (
    Row,
    TimeFormatError,
    cell,
    find_header,
    norm_name,
    read_file_rows,
    table,
)


def read_teams_legacy(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path)
    hi = find_header(rows, {"full name", "user action", "timestamp"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Full Name / User Action / Timestamp' header found")
    header, data = table(rows, hi)
    clock = Clock(path, config, sample_times(header, data, "timestamp"), day_order_note="yes")
    meeting = Meeting(keys=[path.stem, title_from_file_name(path.stem)],
                      what=f"meeting titled {path.stem!r} (the file name)")
    events: list[tuple[Row, str, str, datetime]] = []
    for row in data:
        meeting.rows_read += 1
        try:
            at = clock.read(cell(header, row, "timestamp"))
        except TimeFormatError as exc:
            bad_time(meeting, row, "timestamp", exc)
            continue
        action = cell(header, row, "user action").lower()
        events.append((row, cell(header, row, "full name"), action, at))
    if not events:
        meeting.notes += clock.notes()
        return meeting
    report_start = min(e[3] for e in events)
    report_end = max(e[3] for e in events)
    open_joins: dict[str, tuple[Row, str, datetime]] = {}
    seen: set[tuple[str, str, datetime]] = set()
    for row, name, action, at in sorted(events, key=lambda e: (e[3], e[0].line)):
        person = norm_name(name)
        # The same event twice (two downloads pasted together) would pair a join with its own
        # copy: an exact repeat is folded into the first (counted as merged).
        event = (person, "join" if action.startswith("join") else action, at)
        if event in seen:
            continue
        seen.add(event)
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


FORMAT = Format(
    name="teams_legacy",
    title="Microsoft Teams attendance list (legacy)",
    kind="attendance",
    how_to_export="Teams meeting > Participants > Download attendance list (2020-early 2021).",
    description="UTF-16, tab-separated events: Full Name, User Action (Joined / Left / Joined before), "
        "Timestamp. Names no meeting: the file name is the meeting title.",
    signatures=(Signature(rows=header_words({"full name", "user action", "timestamp"})),),
    read=read_teams_legacy,
)
