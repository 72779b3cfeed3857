"""What Teams' mid-2021 and current attendance reports share: the join/leave table.

Not a format itself (the registry skips modules whose name starts with '_').
"""

from __future__ import annotations

from pipelines.adapters.attendance import Clock, Meeting, Segment, bad_time, reported_minutes
from pipelines.adapters.common import Row, TimeFormatError, cell

# The organiser's role as Teams writes it: en-US, en-GB, French.
ORGANISER_ROLES = {"organizer", "organiser", "organisateur"}


def teams_segments(
    meeting: Meeting, clock: Clock, header: list[str], data: list[Row], join_col: str,
    leave_col: str,
) -> None:
    for row in data:
        meeting.rows_read += 1
        try:
            join = clock.read(cell(header, row, join_col))
            leave = clock.read(cell(header, row, leave_col))
        except TimeFormatError as exc:
            bad_time(meeting, row, f"{join_col}/{leave_col}", exc)
            continue
        role = cell(header, row, "role").lower()
        meeting.segments.append(
            Segment(
                line=row.line,
                name=cell(header, row, "full name", "name"),
                email=cell(header, row, "email", "participant id (upn)"),
                join=join, leave=leave,
                minutes=reported_minutes(cell(header, row, "duration", "in-meeting duration")),
                host=role in ORGANISER_ROLES,
            )
        )

