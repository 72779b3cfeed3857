"""Every file the dashboard hands out goes through here: CSV cells are neutralised once, in one place.

A spreadsheet treats a cell starting with = + - @ as a formula, so a comment or a group name
like "=HYPERLINK(...)" could run when a lead opens an export. Such text cells get a leading
apostrophe, which spreadsheets show as plain text. Numbers are left alone: a negative change is
a number, not a formula.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """The cell as a spreadsheet will show it as text: formula-like strings get a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
    """UTF-8 CSV (with a byte-order mark so spreadsheets read accents right), formula-safe."""
    return neutralise_frame(frame).to_csv(index=False).encode("utf-8-sig")
