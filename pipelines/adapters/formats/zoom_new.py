"""Zoom participant report from the newer reports page: BOM, Topic/ID/Host block."""

from __future__ import annotations

import re
from pathlib import Path

from hearth.config import Config
from pipelines.adapters.attendance import (
    Meeting,
    reported_minutes,
)
from pipelines.adapters.base import Format, Signature, header_words
from pipelines.adapters.formats._zoom import ZOOM_NEW_WORDS, zoom_block, zoom_segments


def read_zoom_new(path: Path, config: Config) -> Meeting:
    block_cell, header, data, clock = zoom_block(
        path, config, {"topic", "id", "host"}, "Topic, ID, Host")
    host = block_cell("host")
    host_match = re.fullmatch(r"\s*(.*?)\s*\(([^()]*@[^()]*)\)\s*", host)
    meeting_id, topic = block_cell("id", "meeting id"), block_cell("topic")
    meeting = Meeting(
        keys=[meeting_id, topic],
        what=f"meeting id {meeting_id} ({topic!r})",
        start=clock.read(block_cell("start time")),
        end=clock.read(block_cell("end time")),
        duration=reported_minutes(block_cell("duration (minutes)")),
        host_name=host_match[1] if host_match else host,
        host_email=host_match[2] if host_match else "",
    )
    zoom_segments(meeting, clock, header, data)
    meeting.notes += clock.notes()
    return meeting


FORMAT = Format(
    name="zoom_new",
    title="Zoom participant report (newer interface)",
    kind="attendance",
    how_to_export="Zoom web portal > Reports > Usage > Participants > Export (new reports page).",
    description="UTF-8 with BOM; meeting block Topic, ID, Host 'Name (email)'; segments with "
        "'In waiting room' (waiting-room time is not attendance).",
    signatures=(Signature(rows=header_words({"topic", "id", "host"}, {"join time", "leave time"})),),
    read=read_zoom_new,
    variants=(
        "English (Topic, ID, Host, ...; Name (original name), Email, Join time, ...)",
        "Italian (Argomento, ID, Organizzatore, ...; Nome (nome originale), Ora di ingresso, ...)",
    ),
    languages=ZOOM_NEW_WORDS,
)
