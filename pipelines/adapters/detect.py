"""Which export a file is, from its content: byte-order mark, encoding, delimiter and the
header rows. The file name is never enough on its own (a Meet report is recognised by its
columns; only its date comes from the name).

Every format declares its signatures (pipelines/adapters/formats/); the most specific one that
matches wins, so a Zoom report with a meeting block is not taken for the classic report whose
table it also contains.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipelines.adapters.base import AdapterError
from pipelines.adapters.common import (
    Row,
    decode,
    norm_header,
    question_code,
    read_rows,
    table_start,
    translate_headers,
    workbook_rows,
)
from pipelines.adapters.registry import FORMATS

HEAD_ROWS = 60


def signature_weights(rows: list[Row], container: str = "text") -> dict[str, int]:
    """{format: weight of its most specific signature that matches} (0 when none does), header
    rows read in each format's interface languages."""
    weights: dict[str, int] = {}
    plain = header_sets(rows)
    for name, info in FORMATS.items():
        if info.container != container:
            continue
        headers, first = header_sets(translate_headers(rows, info.languages)[0]) \
            if info.languages else plain
        weights[name] = max((s.weight for s in info.signatures if s.matches(headers, first)),
                            default=0)
    return weights


def best_match(rows: list[Row], container: str = "text") -> str | None:
    """The format whose matching signature names the most header words, or None."""
    weights = signature_weights(rows, container)
    best = max(weights, key=lambda name: weights[name], default=None)
    return best if best is not None and weights[best] else None


def detect_format(path: Path, head: bytes) -> str | None:
    """The export format of a file from its content, or None when it is no export Hearth knows."""
    path = Path(path)
    if head.startswith(b"PK"):
        return _detect_xlsx(path)
    rows = _head_rows(head)
    return best_match(rows) if rows else None


def _head_rows(head: bytes) -> list[Row]:
    """The non-blank rows among a delimited file's first lines ([] when they cannot be read)."""
    text, _ = decode(head)
    if len(head) >= 65536 and "\n" in text:  # a cut-off head: drop the partial last line
        text = text[: text.rindex("\n")]
    # Header rows sit within the first lines; a field too large or broken quoting means the
    # file is no export Hearth knows (the canonical reader reports on it instead).
    text = "\n".join(text.splitlines()[: HEAD_ROWS * 4])
    try:
        return [r for r in read_rows(text)[:HEAD_ROWS] if not r.blank()]
    except csv.Error:
        return []


def near_miss(head: bytes) -> str | None:
    """What to tell someone whose file is an export Hearth knows with a column taken out, or None
    (without the file's name: the ingest summary puts it in front).

    A format is a near miss when its header words are all there but one (a third of them, for
    formats recognised by many): someone deleted a column while tidying the file, or the tool
    was asked for fewer columns. The message names the missing column, the file's format and
    both fixes (download again, or force the format when the column was left out on purpose).
    """
    if head.startswith(b"PK"):
        return None
    rows = _head_rows(head)
    if not rows:
        return None
    found: dict[str, list[str]] = {}
    for name, info in FORMATS.items():
        if info.container != "text":
            continue
        translated = translate_headers(rows, info.languages)[0] if info.languages else rows
        headers, first = header_sets(translated)
        seen = set().union(*headers)
        for sig in info.signatures:
            words = set().union(*sig.rows) | sig.first_row
            present = {w for w in sig.first_row if w in first} | \
                {w for s in sig.rows for w in s if w in seen}
            missing = sorted(words - present)
            if len(present) >= min(2, len(words) - 1) and \
                    1 <= len(missing) <= max(1, len(words) // 3) and \
                    len(missing) < len(found.get(name, words)):
                found[name] = missing
    if not found:
        return None
    fewest = min(len(missing) for missing in found.values())
    # Two tools whose tables share words (Zoom's and Teams' Join Time / Leave Time): name both.
    told = [f"{FORMATS[name].title} (--format {name}) without the {_columns(missing)}"
            for name, missing in found.items() if len(missing) == fewest]
    return (f"its header reads like {' or like '.join(told)}, which Hearth reads it by; "
            "download the export again from the tool with all its columns (`hearth formats` "
            "says where), or, if a column was left out on purpose, force the format with "
            "--format")


def _columns(missing: list[str]) -> str:
    return (f"{missing[0]!r} column" if len(missing) == 1
            else f"{', '.join(map(repr, missing))} columns")


def header_sets(rows: list[Row]) -> tuple[list[set[str]], list[str]]:
    """(each row's normalised cells, the first header row's) as signatures read them (a title
    line above the table is skipped: `table_start`). A LimeSurvey
    heading 'submitdate. Date submitted' also offers its question code 'submitdate'."""
    headers = [{norm_header(c) for c in r.cells} for r in rows]
    first = [norm_header(c) for c in rows[table_start(rows)].cells]
    first += [code for c in first if (code := question_code(c))]
    return headers, first


def _detect_xlsx(path: Path) -> str | None:
    try:
        from python_calamine import CalamineWorkbook  # heavy: only for workbooks

        book = CalamineWorkbook.from_path(str(path))
        # The export's sheet need not be the first (a notes sheet or an empty one put before
        # it), nor its header the first row (a title typed above it).
        for name in book.sheet_names:
            for cells in book.get_sheet_by_name(name).to_python(nrows=HEADER_ROWS_XLSX):
                found = best_match([Row(1, [str(c) for c in cells])], container="xlsx")
                if found:
                    return found
    except Exception:  # not a readable workbook: not an export Hearth knows
        return None
    # Any other export saved as .xlsx (opened and saved in Excel, or downloaded as a workbook):
    # its sheet read as rows, recognised like the delimited file.
    try:
        rows = [r for r in workbook_rows(path)[:HEAD_ROWS] if not r.blank()]
    except AdapterError:
        return None
    return best_match(rows) if rows else None


HEADER_ROWS_XLSX = 10


# Exports of tools (or reports) Hearth does not read, recognised so the message can say what the
# file is instead of only what it is not: (what it is, header words that must all appear in one
# row, what to do).
FOREIGN_EXPORTS = (
    ("a Webex meeting attendee report", frozenset({"attendee email", "attendance duration"}),
     "rearrange it as canonical sessions.csv + attendance.csv (docs/formats.md)"),
    ("a Zoom webinar attendee report", frozenset({"attended", "time in session (minutes)"}),
     "download the meeting's participant report instead (Zoom web portal > Reports > Usage > "
     "Participants), which Hearth reads"),
    ("a GoTo Webinar attendee report", frozenset({"interest rating", "time in session"}),
     "rearrange it as canonical sessions.csv + attendance.csv (docs/formats.md)"),
    ("Microsoft Forms results saved as CSV",
     frozenset({"id", "start time", "completion time", "email", "name"}),
     "ingest the .xlsx workbook Microsoft Forms gives you (Open results in Excel) instead"),
)


def foreign_export(head: bytes) -> str | None:
    """'<what it is>: <what to do>' for a file that is another tool's export, or None."""
    if head.startswith(b"PK"):
        return None
    text, _ = decode(head)
    try:
        rows = [r for r in read_rows("\n".join(text.splitlines()[:HEAD_ROWS]))[:HEAD_ROWS]
                if not r.blank()]
    except csv.Error:
        return None
    headers, _ = header_sets(rows) if rows else ([], [])
    for what, words, advice in FOREIGN_EXPORTS:
        if any(words <= h for h in headers):
            return f"{what}, which Hearth does not read: {advice}"
    return None


def looks_like(path: Path) -> str | None:
    """The export format a file's content shows (for telling someone who forced another one)."""
    path = Path(path)
    with path.open("rb") as handle:
        return detect_format(path, handle.read(1 << 16))
