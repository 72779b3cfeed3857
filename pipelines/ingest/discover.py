"""Stage 1, discover: which files, what each one is (a canonical entity from its header, or a
tool export from its content), and its content hash. Nothing is loaded here: a file that cannot
be recognised becomes a plan with an error, reported in its summary."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from hearth.instrument import Instrument
from pipelines.adapters import FORMATS, detect_format, foreign_export, near_miss
from pipelines.ingest.summary import IngestError
from pipelines.schemas import (
    LOAD_ORDER,
    required_columns,
)
from pipelines.workbook_check import WorkbookError, check_workbook

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")



def expand(paths: list[str | Path]) -> list[Path]:
    """Files named directly, plus the data files inside named folders (recursively, sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
                and p.name.lower() != "readme.txt"
            )
        else:
            files.append(path)
    return files



def file_hash(path: Path) -> str:
    return file_digest(path).content_hash


@dataclass(frozen=True)
class FileDigest:
    content_hash: str
    data_lines: int | None  # lines after the header; None when a lone CR could end a row too


def file_digest(path: Path) -> FileDigest:
    """The file's content hash and, counted in the same read, how many lines follow its header.

    No row of a CSV file ends without a line feed except the last, so a file holds at most
    `data_lines` rows: when that many rows loaded, every row did (pipelines.ingest.load's
    one-pass load relies on it). A CR not followed by LF could end a row on its own (old Mac
    files): then the count is not an upper bound and is not given.
    """
    digest = hashlib.blake2b(digest_size=20)
    feeds = returns = pairs = 0
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 23):
            digest.update(chunk)
            feeds += chunk.count(b"\n")
            if b"\r" in chunk:  # (counting pairs is slow; most files have no CR at all)
                returns += chunk.count(b"\r")
                pairs += chunk.count(b"\r\n")
            pairs += last == b"\r" and chunk[:1] == b"\n"
            last = chunk[-1:]
    lines = None
    if returns == pairs:
        # The header's line feed is not a row's; an unterminated last line is one.
        lines = max(0, feeds - 1 + (last not in (b"\n", b"")))
    return FileDigest(digest.hexdigest(), lines)



def read_head(path: Path, size: int = 1 << 20) -> bytes:
    if not path.exists():
        raise IngestError("file not found; check the path")
    if not path.is_file():
        raise IngestError("not a file; name a file or a folder of files")
    with path.open("rb") as fh:
        head = fh.read(size)
    if not head.strip():
        raise IngestError("file is empty; export it again from the source")
    return head



def decode_head(head: bytes) -> str:
    """The first part of a canonical file as text, or a clear reason why it is not UTF-8 text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError("file is UTF-16 text, which canonical files are not; save it as 'CSV UTF-8'")
    if b"\x00" in head[:8192]:
        raise IngestError("file is binary, not a CSV; export it as CSV (comma-separated values)")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a multi-byte character cut by the read, not a bad byte
            return head[: exc.start].decode("utf-8-sig")
        raise IngestError(
            f"file is not UTF-8 (byte {exc.start}: {head[exc.start:exc.start + 1]!r}; it looks like "
            "Windows-1252 / Latin-1); re-save it as 'CSV UTF-8' and ingest again"
        ) from None



def header_of(text: str) -> list[str]:
    first = text.splitlines()[0] if text.splitlines() else ""
    if "\t" in first and "," not in first:
        raise IngestError("file is tab-separated; canonical files use commas (save as CSV)")
    if first.count(";") >= 2 and "," not in first:
        # Excel in many European locales saves "CSV" with semicolons (and decimal commas)
        raise IngestError("file is semicolon-separated, as Excel saves CSV in many European "
                          "locales; canonical files use commas: save it as 'CSV UTF-8 "
                          "(Comma delimited)' and ingest again")
    return [c.strip() for c in next(csv.reader(io.StringIO(first)), [])]



def detect_kind(columns: list[str], path: Path, instrument: Instrument) -> str:
    """Which canonical entity a header describes: the one whose required columns it best covers."""
    present = {c.lower() for c in columns}
    best, best_share = None, 0.0
    for kind in LOAD_ORDER:
        required = required_columns(kind, instrument)
        share = len(present & set(required)) / len(required)
        if kind == "survey_responses" and not present & set(instrument.item_ids):
            share = min(share, 0.5)
        if share > best_share or (share == best_share and path.stem.lower() == kind):
            best, best_share = kind, share
    if best is None or best_share < 0.5:
        raise IngestError(
            "header matches no canonical file (groups, members, sessions, attendance, "
            "buddy_checkins, survey_responses) and no tool export Hearth knows; see docs/formats.md, "
            "`hearth formats`, or force one with --kind / --format"
        )
    return best



@dataclass

class Plan:
    path: Path
    kind: str | None = None
    fmt: str = "canonical"
    columns: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def order(self) -> int:
        if self.error:
            return -1
        if self.fmt != "canonical":  # exports need the roster and sessions loaded first
            return 100 if self.kind == "attendance" else 101
        return LOAD_ORDER.index(self.kind)



def _refuse_unknown_utf16(head: bytes, path: Path, instrument: Instrument) -> None:
    """A UTF-16 file no export signature matched. Re-saving as UTF-8 helps only a canonical file
    saved by Excel; a Teams report (Teams writes UTF-16) in a layout or language Hearth does not
    read would still not be recognised, so say that instead."""
    text = head.decode("utf-16", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    columns = [c.strip() for c in next(csv.reader(io.StringIO(first.replace("\t", ","))), [])]
    try:
        detect_kind(columns, path, instrument)
    except IngestError:
        raise IngestError(
            "file is UTF-16 text, as Microsoft Teams writes its attendance reports, but its "
            "header rows match no export Hearth reads (`hearth formats` lists the formats and "
            "their interface languages); if it is a Teams report, force it with --format "
            "teams_current, teams_2021 or teams_legacy, or download it again with Teams set to "
            "English"
        ) from None



def plan_file(path: Path, instrument: Instrument, kind: str | None, fmt: str | None) -> Plan:
    """Recognise a file without loading it; problems become the plan's error."""
    plan = Plan(path)
    try:
        head = read_head(path)
        if head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path):
            check_workbook(path)  # before any spreadsheet reader sizes its grid from the file
        if fmt is None and kind is None:
            fmt = detect_format(path, head)
        if fmt and fmt != "canonical":
            if fmt not in FORMATS:
                raise IngestError(f"--format {fmt!r} is unknown; `hearth formats` lists the supported ones")
            plan.fmt, plan.kind = fmt, FORMATS[fmt].kind
            return plan
        try:
            if head.startswith((b"\xff\xfe", b"\xfe\xff")) and kind is None:
                _refuse_unknown_utf16(head, path, instrument)
            if kind is None and (foreign := foreign_export(head)):
                raise IngestError(f"this looks like {foreign}")
            plan.columns = header_of(decode_head(head))
            plan.kind = kind or detect_kind(plan.columns, path, instrument)
        except IngestError:
            # Neither canonical nor a whole export: an export with a column taken out is told
            # which column, rather than that nothing matched.
            if kind is None and fmt is None and (missing := near_miss(head)):
                raise IngestError(missing) from None
            raise
    except (IngestError, WorkbookError) as exc:
        plan.error = str(exc)
    return plan
