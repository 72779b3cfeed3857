"""Hostile files for upload tests, built in the test rather than committed."""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def sheet_xml(cells: list[tuple[str, str]], dimension: str | None) -> str:
    rows: dict[int, list[str]] = {}
    for ref, value in cells:
        row = int("".join(ch for ch in ref if ch.isdigit()))
        rows.setdefault(row, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    body = "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(rows.items()))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"{dim}<sheetData>{body}</sheetData></worksheet>")


def write_xlsx(path: Path, cells: list[tuple[str, str]], dimension: str | None = None,
               padding: int = 0) -> Path:
    """A minimal workbook written as XML by hand (so it can claim anything a real file could);
    `padding` adds that many bytes of random, incompressible data to reach a given file size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml(cells, dimension))
        if padding:
            archive.writestr("docProps/padding.bin", os.urandom(padding), zipfile.ZIP_STORED)
    return path


def xlsx_bomb(path: Path) -> Path:
    """About 5 KB: a Microsoft Forms-like header and one cell at the very last cell, XFD1048576."""
    header = [("A1", "ID"), ("B1", "Start time"), ("C1", "Completion time")]
    filler = [(f"D{r}", random.Random(r).randbytes(30).hex()) for r in range(2, 60)]
    return write_xlsx(path, header + filler + [("XFD1048576", "boom")], dimension="A1:XFD1048576")


def random_bytes_csv(path: Path, size: int = 200_000, seed: int = 9) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def big_csv(path: Path, megabytes: int = 60) -> Path:
    """A canonical-looking attendance CSV of the given size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = b"g01-2025-04-01,m01,attended,58\n"
    with path.open("wb") as handle:
        handle.write(b"session_id,member_id,status,minutes\n")
        handle.write(line * (megabytes * 2**20 // len(line) + 1))
    return path
