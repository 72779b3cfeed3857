"""Quarters: labels like "2025Q3", calendar or fiscal, in Python and in DuckDB SQL.

Calendar quarters are the default. With `fiscal_year_start_month = m` (m != 1) the year starts on
the first of month m and is named by the calendar year in which it ends, the usual convention
(a year starting April 2025 is "fiscal 2026", so April-June 2025 is "2026Q1").

The month arithmetic used everywhere: shift the month index (year*12 + month-1) forward by
`offset = (13 - m) % 12` months; the shifted index's year is the fiscal year and its month
divided by three gives the quarter.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_LABEL = re.compile(r"^(\d{4})Q([1-4])$")


def _offset(start_month: int) -> int:
    if not 1 <= int(start_month) <= 12:
        raise ValueError(f"fiscal_year_start_month must be 1-12, not {start_month}")
    return (13 - int(start_month)) % 12


def quarter_of(day: date | datetime, start_month: int = 1) -> str:
    """The quarter label a date falls in, e.g. quarter_of(date(2025, 8, 1)) == "2025Q3"."""
    index = day.year * 12 + day.month - 1 + _offset(start_month)
    return f"{index // 12}Q{index % 12 // 3 + 1}"


def parse_quarter(label: str) -> tuple[int, int]:
    """(year, quarter) from "2025Q3"; ValueError with the expected form otherwise."""
    match = _LABEL.match(str(label).strip().upper())
    if not match:
        raise ValueError(f"{label!r} is not a quarter; write it like 2025Q3")
    return int(match.group(1)), int(match.group(2))


def quarter_bounds(label: str, start_month: int = 1) -> tuple[date, date]:
    """First and last day of a quarter: quarter_bounds("2025Q3") == (2025-07-01, 2025-09-30)."""
    year, quarter = parse_quarter(label)
    first = year * 12 + (quarter - 1) * 3 - _offset(start_month)
    start = date(first // 12, first % 12 + 1, 1)
    after = first + 3
    end = date(after // 12, after % 12 + 1, 1) - timedelta(days=1)
    return start, end


def shift_quarter(label: str, steps: int) -> str:
    """The quarter `steps` quarters after (negative: before) `label`."""
    year, quarter = parse_quarter(label)
    index = year * 4 + quarter - 1 + steps
    return f"{index // 4}Q{index % 4 + 1}"


def previous_quarter(label: str) -> str:
    return shift_quarter(label, -1)


def quarter_sql(expr: str, start_month: int = 1) -> str:
    """A DuckDB expression giving the quarter label of the DATE expression `expr`."""
    index = f"(year({expr}) * 12 + month({expr}) - 1 + {_offset(start_month)})"
    return f"(({index} // 12)::VARCHAR || 'Q' || (({index} % 12) // 3 + 1)::VARCHAR)"


def quarter_start_sql(label_expr: str, start_month: int = 1) -> str:
    """A DuckDB expression giving the first day of the quarter labelled by `label_expr`."""
    first = (
        f"(left({label_expr}, 4)::INTEGER * 12 + (right({label_expr}, 1)::INTEGER - 1) * 3"
        f" - {_offset(start_month)})"
    )
    return f"make_date(({first}) // 12, ({first}) % 12 + 1, 1)"


def quarter_end_sql(label_expr: str, start_month: int = 1) -> str:
    """A DuckDB expression giving the last day of the quarter labelled by `label_expr`."""
    return f"(({quarter_start_sql(label_expr, start_month)} + INTERVAL 3 MONTH)::DATE - 1)"
