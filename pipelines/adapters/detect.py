"""Which export a file is, from its content: byte-order mark, encoding, delimiter and the
header rows. The file name is never enough on its own (a Meet report is recognised by its
columns; only its date comes from the name)."""

from __future__ import annotations

import csv
from pathlib import Path

from pipelines.adapters.common import decode, norm_header, read_rows

HEAD_ROWS = 60


def _signatures(headers: list[set[str]], first: list[str]) -> str | None:
    def has(*names: str) -> bool:
        return any(set(names) <= h for h in headers)

    # Attendance
    if has("topic", "id", "host") and has("join time", "leave time"):
        return "zoom_new"
    if has("meeting id", "topic", "start time") and has("join time", "leave time"):
        return "zoom_meeting_data"
    if has("name (original name)", "join time", "leave time"):
        return "zoom_new" if has("in waiting room") else "zoom_classic"
    if has("join time", "leave time", "in waiting room"):
        return "zoom_new"
    if has("full name", "user action", "timestamp"):
        return "teams_legacy"
    if has("full name", "join time", "leave time"):
        return "teams_2021"
    if has("name", "first join", "last leave") or has("name", "join time", "leave time", "role"):
        return "teams_current"
    if has("first name", "last name", "time joined", "time exited"):
        return "google_meet"
    if has("name", "attendance", "user id"):
        return "meetup"
    if has("api_id", "approval_status", "checked_in_at"):
        return "luma"
    if has("order #", "attendee #", "attendee status"):
        return "eventbrite"
    # Surveys (the first row is the header)
    row = set(first)
    if {"respondent id", "collector id"} <= row:
        return "surveymonkey"
    if {"startdate", "enddate", "finished", "responseid"} <= row:
        return "qualtrics"
    if {"id", "submitdate", "lastpage", "startlanguage"} <= row:
        return "limesurvey"
    if first and first[0] == "#" and (
        row & {"submit date (utc)", "submitted at", "response type", "network id"}
    ):
        return "typeform"
    if first and first[0] == "timestamp":
        return "google_forms"
    return None


def detect(path: Path, head: bytes) -> str | None:
    if head.startswith(b"PK"):
        return _detect_xlsx(path)
    text, _ = decode(head)
    if len(head) >= 65536 and "\n" in text:  # a cut-off head: drop the partial last line
        text = text[: text.rindex("\n")]
    # Header rows sit within the first lines; a field too large or broken quoting means the
    # file is no export Hearth knows (the canonical reader reports on it instead).
    text = "\n".join(text.splitlines()[: HEAD_ROWS * 4])
    try:
        rows = [r for r in read_rows(text)[:HEAD_ROWS] if not r.blank()]
    except csv.Error:
        return None
    if not rows:
        return None
    headers = [{norm_header(c) for c in r.cells} for r in rows]
    first = [norm_header(c) for c in rows[0].cells]
    return _signatures(headers, first)


def _detect_xlsx(path: Path) -> str | None:
    try:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0).to_python(nrows=1)
    except Exception:  # not a readable workbook: not an export Hearth knows
        return None
    if not sheet:
        return None
    first = [norm_header(str(c)) for c in sheet[0]]
    if {"id", "start time", "completion time"} <= set(first):
        return "microsoft_forms"
    return None
