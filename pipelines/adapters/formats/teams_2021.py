"""Microsoft Teams attendance report, mid-2021: Meeting Summary block, then join/leave rows."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.attendance import (
    Clock,
    Meeting,
    sample_times,
)
from pipelines.adapters.base import AdapterError, Format, Signature, header_words
from pipelines.adapters.common import (
    find_header,
    key_values,
    read_file_rows,
    table,
)
from pipelines.adapters.formats._teams import teams_segments

# Teams writes the report in the user's interface language; only words seen in real exports.
TEAMS_2021_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "nom complet": "full name",
        "heure d'arrivée": "join time",
        "heure d’arrivée": "join time",
        "heure de départ": "leave time",
        "durée": "duration",
        "e-mail": "email",
        "rôle": "role",
    },
    # Indonesian: the name column is translated, the others are left in English.
    "id": {"nama": "full name"},
}


def read_teams_2021(path: Path, config: Config) -> Meeting:
    rows, _ = read_file_rows(path, TEAMS_2021_WORDS)
    hi = find_header(rows, {"full name", "join time", "leave time"})
    if hi is None:
        raise AdapterError(f"{path}: no 'Full Name / Join Time / Leave Time' header found")
    summary = key_values(rows[:hi])
    header, data = table(rows, hi)
    samples = sample_times(header, data, "join time", "leave time")
    samples += [summary.get("meeting start time", ""), summary.get("meeting end time", "")]
    clock = Clock(path, config, samples, day_order_note="yes")
    title = summary.get("meeting title", "")
    meeting_id = summary.get("meeting id", "")
    meeting = Meeting(
        keys=[meeting_id, title, path.stem],
        what=(f"meeting {title!r}" if title else f"meeting titled {path.stem!r} (the file name)")
        + (f" (id {meeting_id})" if meeting_id else ""),
    )
    if summary.get("meeting start time"):
        meeting.start = clock.read(summary["meeting start time"])
    if summary.get("meeting end time"):
        meeting.end = clock.read(summary["meeting end time"])
    teams_segments(meeting, clock, header, data, "join time", "leave time")
    meeting.notes += clock.notes()
    return meeting


FORMAT = Format(
    name="teams_2021",
    title="Microsoft Teams attendance report (mid-2021)",
    kind="attendance",
    how_to_export="Teams meeting > Participants > Download attendance list (mid-2021).",
    description="Meeting Summary block (title, id, start, end), then Full Name, Join Time, Leave Time, "
        "Duration (29m 22s), Email, Role.",
    signatures=(Signature(rows=header_words({"full name", "join time", "leave time"})),),
    read=read_teams_2021,
    variants=(
        "English (tab-separated, 29m 22s)",
        "French (UTF-16, Nom complet / Heure d'arrivée, 13/04/2021 à 09:01:31, 2 h 44 m)",
        "Excel re-save with semicolons (Nama;Join Time;...)",
    ),
    languages=TEAMS_2021_WORDS,
)
