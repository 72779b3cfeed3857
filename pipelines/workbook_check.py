"""A spreadsheet is checked before any reader opens it.

An .xlsx file is a zip of XML parts, and spreadsheet readers size their grid from what the file
claims: a 5 KB workbook whose sheet declares (or holds a cell at) XFD1048576 asks for a grid of
16,384 x 1,048,576 cells, hundreds of gigabytes, before a single value is read. So before the
format is even detected, the zip's directory and each sheet's XML are read as bytes, in bounded
chunks, and the workbook is refused with a clear message when:

- the zip members would unpack to more than MAX_UNPACKED_BYTES, or one of them is compressed
  more than MAX_RATIO times (a zip bomb), or there are absurdly many members;
- a sheet's declared dimension (`<dimension ref="A1:XFD1048576"/>`) or the span of the cells it
  actually holds covers more than MAX_CELLS cells.

A real survey export (a few thousand responses x a few dozen questions) is far inside all of it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from hearth.errors import HearthError

MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 100          # compressed : uncompressed; real sheet XML packs ~5-20x
MAX_MEMBERS = 10_000
MAX_CELLS = 5_000_000    # rows x columns of the span a reader would allocate
CHUNK = 1 << 20

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Z]{1,3})?(\d{1,7})?(?::([A-Z]{1,3})(\d{1,7}))?"')
_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"')


class WorkbookError(HearthError):
    """A spreadsheet refused before reading; the message says what is wrong and what to do."""


def column_number(letters: bytes | str) -> int:
    """A1 column letters as a number: A = 1, Z = 26, AA = 27, XFD = 16384."""
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def check_workbook(path: Path) -> None:
    """Refuse a zip-packed workbook that would make a reader allocate far more than it holds."""
    fix = "open it in Excel, delete the empty rows and columns beyond your data, save, and try again"
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise WorkbookError("is not a readable .xlsx workbook (a broken zip); "
                            "export or save it again") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise WorkbookError(f"holds {len(members):,} parts, far more than a spreadsheet; "
                                "export the responses again")
        unpacked = sum(m.file_size for m in members)
        if unpacked > MAX_UNPACKED_BYTES:
            raise WorkbookError(
                f"would unpack to {unpacked / 2**20:,.0f} MB (uploads may unpack to at most "
                f"{MAX_UNPACKED_BYTES // 2**20} MB); export fewer responses per file, or save as CSV")
        for member in members:
            if member.file_size > 1 << 20 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                raise WorkbookError(
                    f"part {member.filename} is compressed {member.file_size // max(member.compress_size, 1):,} "
                    f"to 1 (a zip bomb, not a spreadsheet); export the responses again")
        for member in members:
            if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                _check_sheet(archive, member, fix)
            elif member.filename == "content.xml":  # an OpenDocument spreadsheet (.ods)
                _check_ods(archive, member, fix)


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_VALUE_TYPE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value-type"


def _check_ods(archive: zipfile.ZipFile, member: zipfile.ZipInfo, fix: str) -> None:
    """An .ods sheet writes repeats instead of cells (`number-rows-repeated="1000000"`,
    `number-columns-repeated="16384"`): a row of a few bytes can stand for millions of cells,
    and the reader allocates every one up to the last that holds something. The span a reader
    would allocate is worked out from the repeats, streaming, before it opens the file.
    (LibreOffice's own trailing empty repeats hold nothing and count for nothing.)"""
    from xml.etree.ElementTree import ParseError, iterparse

    row = height = width = 0
    sheet = ""
    try:
        with archive.open(member) as stream:
            for event, element in iterparse(stream, events=("start", "end")):
                if element.tag == _ODS_TABLE + "table":
                    if event == "start":
                        row = height = width = 0
                        sheet = element.get(_ODS_TABLE + "name", "")
                    else:
                        _refuse_if_huge(sheet, "repeats cells over", "its rows and columns",
                                        height, width, fix)
                        element.clear()
                elif event == "end" and element.tag == _ODS_TABLE + "table-row":
                    repeats = int(element.get(_ODS_TABLE + "number-rows-repeated", "1"))
                    column = last = 0
                    for cell in element:
                        column += int(cell.get(_ODS_TABLE + "number-columns-repeated", "1"))
                        if len(cell) or cell.get(_ODS_VALUE_TYPE):
                            last = column
                    if last:
                        height, width = row + repeats, max(width, last)
                    row += repeats
                    _refuse_if_huge(sheet, "repeats cells over", "its rows and columns", height,
                                    width, fix)
                    element.clear()
    except (ParseError, ValueError):
        raise WorkbookError("is not a readable spreadsheet (its content does not parse); "
                            "export or save it again") from None


def _check_sheet(archive: zipfile.ZipFile, member: zipfile.ZipInfo, fix: str) -> None:
    sheet = Path(member.filename).stem
    low_row = low_col = None
    high_row = high_col = 0
    tail = b""
    declared = False
    with archive.open(member) as stream:
        while chunk := stream.read(CHUNK):
            text = tail + chunk
            if not declared and (found := _DIMENSION.search(text)):
                declared = True
                first_col, first_row, last_col, last_row = found.groups()
                if last_col and last_row:
                    rows = int(last_row) - int(first_row or 1) + 1
                    cols = column_number(last_col) - column_number(first_col or b"A") + 1
                    _refuse_if_huge(sheet, "declares", found.group(0).split(b'"')[1].decode(),
                                    rows, cols, fix)
            # Only complete tags count; a tag cut by the chunk edge is found in the next round.
            cut = text.rfind(b"<")
            for col, row in _CELL.findall(text, 0, cut if cut > 0 else len(text)):
                r, c = int(row), column_number(col)
                low_row = r if low_row is None else min(low_row, r)
                low_col = c if low_col is None else min(low_col, c)
                high_row, high_col = max(high_row, r), max(high_col, c)
            tail = text[cut:] if cut > 0 else b""
        for col, row in _CELL.findall(tail):
            r, c = int(row), column_number(col)
            low_row = r if low_row is None else min(low_row, r)
            low_col = c if low_col is None else min(low_col, c)
            high_row, high_col = max(high_row, r), max(high_col, c)
    if low_row is not None:
        _refuse_if_huge(sheet, "has cells spanning", f"{_ref(low_col, low_row)}:{_ref(high_col, high_row)}",
                        high_row - low_row + 1, high_col - low_col + 1, fix)


def _refuse_if_huge(sheet: str, verb: str, span: str, rows: int, cols: int, fix: str) -> None:
    if rows * cols > MAX_CELLS:
        raise WorkbookError(
            f"sheet {sheet!r} {verb} {span} ({rows:,} rows x {cols:,} columns), more cells than a "
            f"spreadsheet reader should be asked for (at most {MAX_CELLS:,}); {fix}")


def _ref(col: int, row: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"
