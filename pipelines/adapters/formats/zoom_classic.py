"""Zoom participant report, classic: one row per join/leave segment, no meeting block."""

from __future__ import annotations

import re
from pathlib import Path

from hearth.config import Config
from pipelines.adapters.attendance import (
    Clock,
    Meeting,
    sample_times,
)
from pipelines.adapters.base import Format, Signature, header_words
from pipelines.adapters.common import (
    read_file_rows_in_language,
)
from pipelines.adapters.formats._zoom import ZOOM_WORDS, zoom_segments, zoom_table


def read_zoom_classic(path: Path, config: Config) -> Meeting:
    rows, _, language = read_file_rows_in_language(path, ZOOM_WORDS)
    header, data = zoom_table(rows, path)
    clock = Clock(path, config, sample_times(header, data, "join time", "leave time"),
                  language=language)
    found = re.search(r"(\d{9,12})", path.stem)
    keys = ([found[1]] if found else []) + [path.stem]
    what = f"meeting id {found[1]}" if found else f"meeting titled {path.stem!r} (the file name)"
    meeting = Meeting(keys=keys, what=what)
    zoom_segments(meeting, clock, header, data)
    meeting.notes += clock.notes()
    return meeting


FORMAT = Format(
    name="zoom_classic",
    title="Zoom participant report (classic)",
    kind="attendance",
    how_to_export="Zoom web portal > Reports > Usage > Participants > Export (without meeting data).",
    description="One row per join/leave segment: Name (Original Name), User Email, Join Time, Leave Time. "
        "Meeting id from the file name participants_<id>.csv.",
    signatures=(Signature(rows=header_words({"name (original name)", "join time", "leave time"})),),
    read=read_zoom_classic,
    variants=(
        "classic (Name (Original Name), User Email, ..., Guest, Recording Consent)",
        "current (UTF-8 with BOM, In Waiting Room: waiting-room rows are not attendance)",
        "Excel re-save (9:54:15 AM)", "Japanese (名前 (元の名前), 参加時刻, 2020/12/8 8:35)",
        "Spanish (Nombre (nombre original), Hora de entrada / older Hora para unirse)",
        "Portuguese (Nome (nome original), Ingressar na hora, 07/01/2026 06:16:46 PM day-first)",
    ),
    languages=ZOOM_WORDS,
)
