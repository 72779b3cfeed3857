"""A generator of messy variants of every export format Hearth reads.

Each variant is what happens to a real export on its way from the tool to Hearth: re-saved by
Excel in some locale (quotes dropped or added, leading zeros dropped, dates rewritten, `;` as the
separator, cp1252 / Latin-1 / UTF-16 LE or BE with or without a byte-order mark, CRLF or lone CR
line ends), tidied by hand (empty columns, trailing separators, blank lines and notes around the
table, header case and spacing, columns in another order), or written by the tool in another
habit (12- or 24-hour clocks, en-GB / en-US / ISO / German dates, names 'Last, First', emails in
capitals). A variant takes the export's text (decoded, BOM removed) and its separator and returns
the bytes of the messy copy, or None when it does not apply to that export (nothing to change).

Every variant here must load exactly what the original loads (tests/test_messy_exports.py runs
them through `hearth ingest` in process). The variants that must instead get one clear message
(a column missing, a header row removed) are built by the tests themselves.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from pipelines.adapters.common import decide_month_first, parse_datetime

Variant = Callable[[str, str], "bytes | None"]


def rows_of(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def write_rows(rows: list[list[str]], delimiter: str, newline: str = "\n",
               quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(rows)
    return out.getvalue()


def table_span(rows: list[list[str]]) -> tuple[int, int]:
    """(header index, end) of the export's main table: the longest run of rows with the same
    number of cells (at least 3). Meeting blocks and summaries lie outside it."""
    best, i = (0, 0), 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and len(rows[j + 1]) == len(rows[i]):
            j += 1
        if len(rows[i]) >= 3 and j + 1 - i > best[1] - best[0]:
            best = (i, j + 1)
        i = j + 1
    return best


def _in_table(text: str, delimiter: str, change) -> bytes:
    rows = rows_of(text, delimiter)
    a, b = table_span(rows)
    return write_rows(change(rows, a, b), delimiter).encode("utf-8")


# --- Excel re-saves: quoting, separators, encodings, line ends -----------------------------------


def quotes_dropped(text: str, delimiter: str) -> bytes | None:
    """Excel writes quotes only where a cell needs them (Google Forms and LimeSurvey quote all)."""
    out = write_rows(rows_of(text, delimiter), delimiter)
    return out.encode("utf-8") if out != text else None


def every_field_quoted(text: str, delimiter: str) -> bytes:
    return write_rows(rows_of(text, delimiter), delimiter, quoting=csv.QUOTE_ALL).encode("utf-8")


def european_excel(text: str, delimiter: str) -> bytes:
    """Excel in a European locale: `;` between fields, CRLF, cp1252 where it can hold the text."""
    out = write_rows(rows_of(text, delimiter), ";", newline="\r\n")
    try:
        return out.encode("cp1252")
    except UnicodeEncodeError:
        return out.encode("utf-8-sig")


def cp1252_text(text: str, delimiter: str) -> bytes | None:
    try:
        return text.encode("cp1252") if text != text.encode("ascii", "ignore").decode() else None
    except UnicodeEncodeError:
        return None


def latin1_text(text: str, delimiter: str) -> bytes | None:
    try:
        return text.encode("latin-1") if text != text.encode("ascii", "ignore").decode() else None
    except UnicodeEncodeError:
        return None


def utf16_le_bom(text: str, delimiter: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le")


def utf16_be_bom(text: str, delimiter: str) -> bytes:
    return b"\xfe\xff" + text.encode("utf-16-be")


def utf16_le(text: str, delimiter: str) -> bytes:
    return text.encode("utf-16-le")


def utf16_be(text: str, delimiter: str) -> bytes:
    return text.encode("utf-16-be")


def crlf(text: str, delimiter: str) -> bytes:
    """Windows row ends (a line break inside a quoted answer stays as it was, as Excel keeps it)."""
    return write_rows(rows_of(text, delimiter), delimiter, newline="\r\n").encode("utf-8")


def lone_cr(text: str, delimiter: str) -> bytes:
    """Row ends of a classic Mac (Excel for Mac's 'CSV (Macintosh)')."""
    return write_rows(rows_of(text, delimiter), delimiter, newline="\r").encode("utf-8")


# --- tidied by hand -----------------------------------------------------------------------------


def trailing_separators(text: str, delimiter: str) -> bytes:
    """A separator at the end of every line of the table (an empty last column)."""
    return _in_table(text, delimiter,
                     lambda rows, a, b: [r + [""] if a <= k < b else r for k, r in enumerate(rows)])


def empty_columns(text: str, delimiter: str) -> bytes:
    """An empty column (no header, no values) inside the table and another at its end."""
    def change(rows, a, b):
        at = min(2, len(rows[a]))
        return [r[:at] + [""] + r[at:] + [""] if a <= k < b else r for k, r in enumerate(rows)]
    return _in_table(text, delimiter, change)


def notes_around(text: str, delimiter: str) -> bytes:
    """Blank lines and a note above the table, blank lines and a note below it."""
    rows = rows_of(text, delimiter)
    below = [[], [], ["Downloaded for the quarterly review; do not forward"]]
    above = [[], ["Notes: exported by the program lead"], []]
    return write_rows(above + rows + below, delimiter).encode("utf-8")


def _header_cells(text: str, delimiter: str, change) -> bytes | None:
    rows = rows_of(text, delimiter)
    a, b = table_span(rows)
    headers = [a]
    # The tool's other header rows: Zoom's meeting block, Qualtrics' question texts.
    headers += [k for k in range(a) if len(rows[k]) >= 3 and k + 1 < len(rows)
                and len(rows[k + 1]) == len(rows[k])]
    for k in headers:
        rows[k] = [change(c) if c.strip() and not c.lstrip().startswith("{") else c
                   for c in rows[k]]
    return write_rows(rows, delimiter).encode("utf-8")


def header_upper_spaced(text: str, delimiter: str) -> bytes | None:
    """Header words in capitals with spaces around and doubled inside."""
    return _header_cells(text, delimiter, lambda c: "  " + c.upper().replace(" ", "  ") + " ")


def header_title_case(text: str, delimiter: str) -> bytes | None:
    return _header_cells(text, delimiter, lambda c: " ".join(w.capitalize() for w in c.split(" ")))


def columns_rotated(text: str, delimiter: str) -> bytes:
    """The table's columns in another order, its first column kept first (Google Forms and
    Typeform are recognised by it)."""
    def change(rows, a, b):
        width = len(rows[a])
        order = [0, *range(2, width), 1] if width > 2 else list(range(width))
        return [[r[i] if i < len(r) else "" for i in order] if a <= k < b else r
                for k, r in enumerate(rows)]
    return _in_table(text, delimiter, change)


# --- dates and times rewritten -----------------------------------------------------------------

_DATE_CELL = re.compile(
    r"^\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{2,4})(?:,?\s+(?:à\s+)?\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s*[AaPp]\.?[Mm]\.?)?)?\s*(?P<zone>[A-Za-z]{2,5}(?:[+\-]\d{1,2}(?::?\d{2})?)?)?\s*$")
_TIME_CELL = re.compile(r"^\s*\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AaPp]\.?[Mm]\.?)?\s*$")
UTC = ZoneInfo("UTC")


def _rewrite_times(text: str, delimiter: str, render_date, render_time=None) -> bytes | None:
    """Every date-and-time cell re-rendered by `render_date(datetime, had_time)` (read first in
    the day order the file's own dates show), every time-of-day cell by `render_time`."""
    rows = rows_of(text, delimiter)
    cells = [c for r in rows for c in r if _DATE_CELL.match(c)]
    month_first, _ = decide_month_first(cells, "Europe/London")
    changed = False
    for r in rows:
        for i, c in enumerate(r):
            m = _DATE_CELL.match(c)
            if m:
                dt, _ = parse_datetime(c[: m.start("zone")] if m["zone"] else c, UTC, month_first)
                new = render_date(dt.replace(tzinfo=None), ":" in c)
                if m["zone"]:
                    new += " " + m["zone"]
            elif render_time and _TIME_CELL.match(c):
                t = re.sub(r"\s+", " ", c.strip())
                h, mi, *rest = re.findall(r"\d+", t)
                pm = "p" in t.lower()
                hour = int(h) % 12 + (12 if pm else 0) if re.search(r"[AaPp]", t) else int(h)
                new = render_time(hour, int(mi), int(rest[0]) if rest else None)
            else:
                continue
            changed = changed or new != c
            r[i] = new
    return write_rows(rows, delimiter).encode("utf-8") if changed else None


def _clock12(dt: datetime, seconds: bool = True) -> str:
    h = dt.hour % 12 or 12
    return f"{h}:{dt.minute:02d}" + (f":{dt.second:02d}" if seconds else "") + \
        (" PM" if dt.hour >= 12 else " AM")


def _clock24(dt: datetime) -> str:
    return f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"


def dates_iso(text: str, delimiter: str) -> bytes | None:
    return _rewrite_times(text, delimiter, lambda dt, t: dt.strftime("%Y-%m-%d")
                          + (" " + _clock24(dt) if t else ""))


def dates_en_gb(text: str, delimiter: str) -> bytes | None:
    return _rewrite_times(text, delimiter, lambda dt, t: dt.strftime("%d/%m/%Y")
                          + (" " + _clock24(dt) if t else ""))


def dates_en_us(text: str, delimiter: str) -> bytes | None:
    """en-US as Excel re-saves it: no leading zeros, a 12-hour clock."""
    return _rewrite_times(text, delimiter, lambda dt, t: f"{dt.month}/{dt.day}/{dt.year}"
                          + (" " + _clock12(dt) if t else ""))


def dates_german(text: str, delimiter: str) -> bytes | None:
    return _rewrite_times(text, delimiter, lambda dt, t: dt.strftime("%d.%m.%Y")
                          + (" " + _clock24(dt)[:5] + f":{dt.second:02d}" if t else ""))


def dates_two_digit_year(text: str, delimiter: str) -> bytes | None:
    """Teams' habit (15/11/22, 09:30:17), day-first."""
    return _rewrite_times(text, delimiter, lambda dt, t: dt.strftime("%d/%m/%y")
                          + (", " + _clock24(dt) if t else ""))


def times_12h(text: str, delimiter: str) -> bytes | None:
    return _rewrite_times(
        text, delimiter, lambda dt, t: dt.strftime("%Y-%m-%d") + (" " + _clock12(dt) if t else ""),
        lambda h, m, s: f"{h % 12 or 12}:{m:02d}" + (f":{s:02d}" if s is not None else "")
        + (" PM" if h >= 12 else " AM"))


def times_24h(text: str, delimiter: str) -> bytes | None:
    return _rewrite_times(
        text, delimiter, lambda dt, t: dt.strftime("%Y-%m-%d") + (" " + _clock24(dt) if t else ""),
        lambda h, m, s: f"{h:02d}:{m:02d}" + (f":{s:02d}" if s is not None else ""))


# --- names and emails ---------------------------------------------------------------------------

_EMAIL = re.compile(r"^\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*$")


def emails_shouted(text: str, delimiter: str) -> bytes | None:
    """Addresses in capitals with spaces around them (typed by hand into a roster or export)."""
    rows = rows_of(text, delimiter)
    changed = False
    for r in rows:
        for i, c in enumerate(r):
            if _EMAIL.match(c):
                r[i] = " " + c.strip().upper() + " "
                changed = True
    return write_rows(rows, delimiter).encode("utf-8") if changed else None


def names_last_first(names: list[str]) -> Variant:
    """Display names of roster members written 'Last, First' (as Teams and Outlook do)."""
    def variant(text: str, delimiter: str) -> bytes | None:
        rows = rows_of(text, delimiter)
        changed = False
        for r in rows:
            for i, c in enumerate(r):
                if c.strip() in names and " " in c.strip():
                    first, last = c.strip().rsplit(" ", 1)
                    r[i] = f"{last}, {first}"
                    changed = True
        return write_rows(rows, delimiter).encode("utf-8") if changed else None
    return variant


def names_decomposed(text: str, delimiter: str) -> bytes | None:
    """Accented letters as a base letter plus a combining mark (NFD, as macOS writes names)."""
    out = unicodedata.normalize("NFD", text)
    return out.encode("utf-8") if out != text else None


def names_accented(names: list[str]) -> Variant:
    """Roster names typed with accents the roster lacks ('Ada' -> 'Adá'), or without those it
    has ('Díaz' -> 'Diaz')."""
    def flip(name: str) -> str:
        bare = "".join(c for c in unicodedata.normalize("NFKD", name)
                       if not unicodedata.combining(c))
        return bare if bare != name else name.replace("a", "á", 1).replace("e", "é", 1)

    def variant(text: str, delimiter: str) -> bytes | None:
        rows = rows_of(text, delimiter)
        changed = False
        for r in rows:
            for i, c in enumerate(r):
                if c.strip() in names:
                    r[i] = flip(c.strip())
                    changed = True
        return write_rows(rows, delimiter).encode("utf-8") if changed else None
    return variant


def variants_for(roster_names: list[str]) -> dict[str, Variant]:
    """Every variant that must load exactly what the original loads."""
    return {
        "quotes dropped": quotes_dropped,
        "every field quoted": every_field_quoted,
        "European Excel (; CRLF cp1252)": european_excel,
        "cp1252": cp1252_text,
        "latin-1": latin1_text,
        "UTF-16 LE with BOM": utf16_le_bom,
        "UTF-16 BE with BOM": utf16_be_bom,
        "UTF-16 LE without BOM": utf16_le,
        "UTF-16 BE without BOM": utf16_be,
        "CRLF": crlf,
        "lone CR": lone_cr,
        "trailing separators": trailing_separators,
        "empty columns": empty_columns,
        "notes around the table": notes_around,
        "header in capitals, spaced": header_upper_spaced,
        "header in title case": header_title_case,
        "columns rotated": columns_rotated,
        "ISO dates": dates_iso,
        "en-GB dates": dates_en_gb,
        "en-US dates (Excel)": dates_en_us,
        "German dates": dates_german,
        "two-digit years": dates_two_digit_year,
        "12-hour clock": times_12h,
        "24-hour clock": times_24h,
        "emails in capitals with spaces": emails_shouted,
        "names Last, First": names_last_first(roster_names),
        "names decomposed (NFD)": names_decomposed,
        "names with other accents": names_accented(roster_names),
    }
