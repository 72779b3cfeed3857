"""Microsoft Teams attendance report, current: numbered sections, locale dates."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.attendance import (
    Clock,
    Meeting,
    reported_minutes,
    sample_times,
)
from pipelines.adapters.base import AdapterError, Format, Signature, header_words
from pipelines.adapters.common import (
    cell,
    find_header,
    key_values,
    norm_name,
    read_file_rows,
    table,
)
from pipelines.adapters.formats._teams import ORGANISER_ROLES, teams_segments


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
    samples += sample_times(p_header, p_data, "first join", "last leave")
    samples += sample_times(a_header, a_data, "join time", "leave time")
    clock = Clock(path, config, samples, day_order_note="yes")
    title = summary.get("meeting title", "") or summary.get("title", "")
    meeting_id = summary.get("meeting id", "")
    meeting = Meeting(
        keys=[meeting_id, title, path.stem],
        what=(f"meeting {title!r}" if title else f"meeting titled {path.stem!r} (the file name)")
        + (f" (id {meeting_id})" if meeting_id else ""),
    )
    if summary.get("start time"):
        meeting.start = clock.read(summary["start time"])
    if summary.get("end time"):
        meeting.end = clock.read(summary["end time"])
    if summary.get("meeting duration"):
        meeting.duration = reported_minutes(summary["meeting duration"])
    # The activities table has every join/leave stretch; the participants table summarises it.
    if ai is not None:
        teams_segments(meeting, clock, a_header, a_data, "join time", "leave time")
        organisers = {
            norm_name(cell(p_header, r, "name"))
            for r in p_data if cell(p_header, r, "role").lower() in ORGANISER_ROLES
        }
        for seg in meeting.segments:
            seg.host = seg.host or norm_name(seg.name) in organisers
    else:
        teams_segments(meeting, clock, p_header, p_data, "first join", "last leave")
    meeting.notes += clock.notes()
    return meeting


FORMAT = Format(
    name="teams_current",
    title="Microsoft Teams attendance report",
    kind="attendance",
    how_to_export="Teams calendar > the meeting > Attendance > Download.",
    description="UTF-16 sections 1. Summary / 2. Participants / 3. In-Meeting activities; dates in the "
        "organiser's locale (day- or month-first), durations 2h 30m 1s.",
    signatures=(
        Signature(rows=header_words({"name", "first join", "last leave"})),
        Signature(rows=header_words({"name", "join time", "leave time", "role"})),
    ),
    read=read_teams_current,
    variants=("en-GB dates (15/11/22, 09:30:17)", "en-US dates (11/15/22, 9:30:17 AM)"),
)
