"""Hostile files for upload tests, built in the test rather than committed."""

from __future__ import annotations

import csv
import io
import os
import random
import re
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


# --- messy copies of real exports ---------------------------------------------------------------
# What happens to an export between the tool and Hearth: opened and re-saved in Excel, joined
# with another download, renamed. Each function takes the export's text (decoded, BOM removed)
# and its separator and returns the bytes of the messy copy; tests/test_hostile_input.py checks
# that each loads exactly as the original did, or gets one clear line.


def table_span(rows: list[list[str]]) -> tuple[int, int]:
    """(first, end) of the export's table: the longest run of rows with the same number of
    cells (at least 3), its header row first. Meeting blocks and summaries lie outside it."""
    best, i = (0, 0), 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and len(rows[j + 1]) == len(rows[i]):
            j += 1
        if len(rows[i]) >= 3 and j + 1 - i > best[1] - best[0]:
            best = (i, j + 1)
        i = j + 1
    return best


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _write(rows: list[list[str]], delimiter: str, newline: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue()


def crlf_and_blank_tail(text: str, delimiter: str) -> bytes:
    """Windows line ends, then blank lines and a line of bare separators (Excel's empty rows)."""
    width = max(len(r) for r in _rows(text, delimiter))
    body = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return (body + "\r\n\r\n" + delimiter * (width - 1) + "\r\n").encode("utf-8")


def extra_column(text: str, delimiter: str) -> bytes:
    """A column a newer version of the tool added, at the end of the table."""
    rows = _rows(text, delimiter)
    a, b = table_span(rows)
    rows = [r + (["Extra Field"] if k == a else ["x"]) if a <= k < b else r
            for k, r in enumerate(rows)]
    return _write(rows, delimiter).encode("utf-8")


def reversed_columns(text: str, delimiter: str) -> bytes:
    """The table's columns in the opposite order (someone tidied it in a spreadsheet)."""
    rows = _rows(text, delimiter)
    a, b = table_span(rows)
    return _write([r[::-1] if a <= k < b else r for k, r in enumerate(rows)],
                  delimiter).encode("utf-8")


def total_row(text: str, delimiter: str) -> bytes:
    """A 'Total' summary line under the table."""
    rows = _rows(text, delimiter)
    a, b = table_span(rows)
    return _write(rows[:b] + [["Total"] + [""] * (len(rows[a]) - 1)] + rows[b:],
                  delimiter).encode("utf-8")


def repeated_header(text: str, delimiter: str) -> bytes:
    """Two downloads pasted together: the header again in the middle of the table."""
    rows = _rows(text, delimiter)
    a, b = table_span(rows)
    middle = (a + 1 + b) // 2
    return _write(rows[:middle] + [rows[a]] + rows[middle:], delimiter).encode("utf-8")


def semicolons(text: str, delimiter: str) -> bytes:
    """Re-saved by a European Excel: semicolons between fields, decimal commas in numbers."""
    rows = [[re.sub(r"^(\d+)\.(\d+)$", r"\1,\2", c) for c in r] for r in _rows(text, delimiter)]
    return _write(rows, ";").encode("utf-8")


def utf16(text: str, delimiter: str) -> bytes:
    """Saved as 'Unicode text': UTF-16 with a byte-order mark."""
    return text.encode("utf-16")


def cp1252(text: str, delimiter: str) -> bytes | None:
    """Saved by Excel on Windows in the old 'CSV' encoding (None: the text has characters
    Windows-1252 cannot hold)."""
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError:
        return None


def excel_times(text: str, delimiter: str) -> bytes:
    """Excel's re-save drops leading zeros: 04/01/2025 06:28:10 PM -> 4/01/2025 6:28:10 PM."""
    text = re.sub(r"(?<![\d/])0(\d)/(\d\d)/(\d{4})", r"\1/\2/\3", text)
    return re.sub(r"(?<=[\s,])0(\d):(?=\d\d)", r"\1:", text).encode("utf-8")


def title_lines(text: str, delimiter: str) -> bytes:
    """A title and a note typed above the export (and a blank line), as people do before
    mailing a file on."""
    return (f"Check-in export{delimiter}\nDownloaded by the program lead\n\n{text}").encode()


def utf8_bom(text: str, delimiter: str) -> bytes:
    """Saved as 'CSV UTF-8' by Excel: a byte-order mark in front (whether or not it had one)."""
    return ("\ufeff" + text).encode("utf-8")


def latin1(text: str, delimiter: str) -> bytes | None:
    """Saved in ISO-8859-1 by an old tool (None: the text has characters Latin-1 cannot hold)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def no_final_line_end(text: str, delimiter: str) -> bytes:
    """The last row whole but without a line end (a complete file, not a cut one)."""
    return text.rstrip("\r\n").encode("utf-8")


def pasted_twice(text: str, delimiter: str) -> bytes:
    """Two overlapping downloads pasted together: every row of the table a second time (no
    second header). Attendance must not count anyone twice."""
    rows = _rows(text, delimiter)
    a, b = table_span(rows)
    return _write(rows[:b] + rows[a + 1:b] + rows[b:], delimiter).encode()


# Files that stop early: each must get one line saying so (never load part of a meeting).


def header_only(text: str, delimiter: str) -> bytes:
    """The export's rows down to its (first) table header and nothing under it: downloaded
    before the meeting, or cut off right after the header."""
    rows = _rows(text, delimiter)
    a, _ = table_span(rows)
    return _write(rows[: a + 1], delimiter).encode("utf-8")


def cut_mid_row(text: str, delimiter: str) -> bytes:
    """An interrupted download: the file stops in the middle of the table's second row."""
    rows = _rows(text, delimiter)
    a, b = table_span(rows)
    keep = _write(rows[: min(a + 3, b)], delimiter)
    last = _write([rows[min(a + 2, b - 1)]], delimiter)
    # two characters past its first separator: the row has lost cells, as a cut file's last
    # row does (a cut inside the last cell cannot be told from a complete file)
    return keep[: len(keep) - len(last) + last.index(delimiter) + 2].encode("utf-8")


CUT_EXPORTS = {"header_only": header_only, "cut_mid_row": cut_mid_row}


MESSY_EXPORTS = {
    "crlf_and_blank_tail": crlf_and_blank_tail,
    "extra_column": extra_column,
    "total_row": total_row,
    "repeated_header": repeated_header,
    "semicolons": semicolons,
    "utf16": utf16,
    "cp1252": cp1252,
    "excel_times": excel_times,
    "title_lines": title_lines,
    "utf8_bom": utf8_bom,
    "latin1": latin1,
    "no_final_line_end": no_final_line_end,
}
