"""Zoom participant report "export with meeting data": a meeting block, then segments."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.attendance import (
    Meeting,
    reported_minutes,
)
from pipelines.adapters.base import Format, Signature, header_words
from pipelines.adapters.formats._zoom import zoom_block, zoom_segments


def read_zoom_meeting_data(path: Path, config: Config) -> Meeting:
    block_cell, header, data, clock = zoom_block(
        path, config, {"meeting id", "topic", "start time"}, "Meeting ID, Topic, Start Time")
    meeting_id, topic = block_cell("meeting id"), block_cell("topic")
    meeting = Meeting(
        keys=[meeting_id, topic],
        what=f"meeting id {meeting_id} ({topic!r})",
        start=clock.read(block_cell("start time")),
        end=clock.read(block_cell("end time")),
        duration=reported_minutes(block_cell("duration (minutes)")),
        host_email=block_cell("user email"),
    )
    zoom_segments(meeting, clock, header, data)
    meeting.notes += clock.notes()
    return meeting


FORMAT = Format(
    name="zoom_meeting_data",
    title="Zoom participant report with meeting data",
    kind="attendance",
    how_to_export="Zoom web portal > Reports > Usage > Participants > tick 'Export with meeting data'.",
    description="Meeting block (Meeting ID, Topic, Start Time, End Time, User Email = host), a blank "
        "line, then one row per join/leave segment.",
    signatures=(Signature(rows=header_words({"meeting id", "topic", "start time"}, {"join time", "leave time"})),),
    read=read_zoom_meeting_data,
    variants=("with or without a trailing comma after Participants",),
    # Its meeting block (Meeting ID, Topic, ...) was seen in English only.
)
