"""Every file the dashboard hands out goes through here: CSV cells are neutralised once, in one place.

A spreadsheet treats a cell starting with = + - @ (or a tab or carriage return) as a formula, so
a comment or a group name like "=HYPERLINK(...)" could run when a lead opens an export. A cell
holding several lines is as dangerous on every line: a carriage return inside an unquoted cell
starts a new row, and a line inside a quoted one may still be read as a formula by some
spreadsheets. So every line of a text cell that starts like a formula (after any leading spaces,
tabs or invisible characters) gets a leading apostrophe, which spreadsheets show as plain text, and every cell is
quoted. Numbers are left alone: a negative change is a number, not a formula.

Streamlit's own table toolbar ("Download as CSV") would bypass this, so the dashboard turns that
toolbar export off (client.disableDataExport) and offers the neutralised download beside each
table instead (dashboard.ui).
"""

from __future__ import annotations

import csv
import re
import unicodedata

import pandas as pd

# What may open a formula: ASCII, full-width and small-form = + - @ (spreadsheets fold the
# latter), and the minus sign.
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20",
                  "\ufe66", "\ufe62", "\ufe63", "\ufe6b", "\u2212")
# Line breaks a spreadsheet or a text tool may start a line at: CR, LF, and the vertical tab,
# form feed, file/group/record separators, next line and the Unicode line and paragraph
# separators (what str.splitlines breaks at).
_LINES = re.compile("(\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029])")


def _blank(c: str) -> bool:
    """Whitespace of any kind (a no-break or ideographic space too) or an invisible format
    character (zero-width space, byte-order mark): a spreadsheet may trim it before a formula."""
    return c.isspace() or unicodedata.category(c) == "Cf"


def _neutralise_line(line: str) -> str:
    rest = line
    while rest and _blank(rest[0]):
        rest = rest[1:]
    if line.startswith(("\t", "\r")) or rest.startswith(FORMULA_STARTS):
        return "'" + line
    return line


def neutralise_cell(value: object) -> object:
    """The cell as a spreadsheet will show it as text: every line that could start a formula
    (after line breaks, leading spaces or tabs) gets a leading '."""
    if not isinstance(value, str):
        return value
    parts = _LINES.split(value)
    # Even positions are lines, odd ones the line breaks between them.
    return "".join(p if i % 2 else _neutralise_line(p) for i, p in enumerate(parts))


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame whose text cells (and column names) cannot act as formulas."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            out[column] = series.astype(object).map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with a byte-order mark so spreadsheets read accents right), formula-safe, every
    cell quoted (so a line break inside a cell never starts a row)."""
    return neutralise_frame(frame).to_csv(index=False, quoting=csv.QUOTE_ALL).encode("utf-8-sig")
