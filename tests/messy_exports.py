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
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipelines.adapters.common import decide_month_first, parse_datetime
from tests.hostile_files import table_span

Variant = Callable[[str, str], "bytes | None"]


def rows_of(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def write_rows(rows: list[list[str]], delimiter: str, newline: str = "\n",
               quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(rows)
    return out.getvalue()


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


def excel_unicode_text(text: str, delimiter: str) -> bytes:
    """Excel's 'Unicode Text (*.txt)': tab-separated UTF-16 with a byte-order mark."""
    return write_rows(rows_of(text, delimiter), "\t", newline="\r\n").encode("utf-16")


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


def dates_month_names_numbers(text: str, delimiter: str) -> bytes | None:
    """Numbers (and LibreOffice with a long date format) after a re-save: `1 Apr 2025 at
    18:28:10`."""
    return _rewrite_times(text, delimiter, lambda dt, t: f"{dt.day} {dt.strftime('%b %Y')}"
                          + (" at " + _clock24(dt) if t else ""))


def dates_month_names_us(text: str, delimiter: str) -> bytes | None:
    """A US long date: `Apr 1, 2025 6:28:10 PM`."""
    return _rewrite_times(text, delimiter, lambda dt, t: f"{dt.strftime('%b')} {dt.day}, "
                          f"{dt.year}" + (" " + _clock12(dt) if t else ""))


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
        "Excel Unicode text (UTF-16, tabs)": excel_unicode_text,
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
        "month names (Numbers: 1 Apr 2025 at 18:28:10)": dates_month_names_numbers,
        "month names (US: Apr 1, 2025 6:28:10 PM)": dates_month_names_us,
        "12-hour clock": times_12h,
        "24-hour clock": times_24h,
        "emails in capitals with spaces": emails_shouted,
        "names Last, First": names_last_first(roster_names),
        "names decomposed (NFD)": names_decomposed,
        "names with other accents": names_accented(roster_names),
        "durations as h:mm:ss": durations_clock,
        "durations in words (1 hr 5 min)": durations_in_words,
        "durations as 1h 5m 30s": durations_teams,
    }


# --- two exports in one file (must get one line, not one long meeting) --------------------------


def another_week_pasted_below(text: str, delimiter: str) -> bytes | None:
    """The table's rows again below it, every date a week later: next week's export of the same
    meeting (Zoom keeps the id of a recurring meeting) pasted into this one. None when the table
    holds no date (a time of day only, or an event list)."""
    week_later = _rewrite_times(text, delimiter, lambda dt, t: (dt + timedelta(days=7)).strftime(
        "%Y-%m-%d") + (" " + _clock24(dt) if t else ""))
    if week_later is None:
        return None
    rows = rows_of(text, delimiter)
    later = rows_of(week_later.decode("utf-8"), delimiter)
    a, b = table_span(rows)
    return write_rows(rows[:b] + later[a + 1:b] + rows[b:], delimiter).encode("utf-8")


# --- saved as OpenDocument (.ods: LibreOffice Calc, or Numbers / Google Sheets' download) ------

_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
    '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type='
    '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
    'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def ods_bytes(rows: list[list[str]], sheets_before: int = 0) -> bytes:
    """A minimal .ods holding `rows` as text cells (as LibreOffice keeps cells it did not
    recognise as numbers), after `sheets_before` empty sheets."""
    import zipfile
    from xml.sax.saxutils import escape

    def table(name: str, body: list[list[str]]) -> str:
        xml_rows = "".join(
            "<table:table-row>" + "".join(
                f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p>'
                "</table:table-cell>" if c else "<table:table-cell/>" for c in r)
            + "</table:table-row>" for r in body)
        return f'<table:table table:name="{name}">{xml_rows}</table:table>'

    sheets = [table(f"Notes{n + 1}", []) for n in range(sheets_before)] + [table("Sheet1", rows)]
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODS_NS} '
               f'office:version="1.2"><office:body><office:spreadsheet>{"".join(sheets)}'
               "</office:spreadsheet></office:body></office:document-content>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def saved_as_ods(text: str, delimiter: str) -> bytes:
    return ods_bytes(rows_of(text, delimiter))


# --- durations written another way --------------------------------------------------------------


def _rewrite_durations(text: str, delimiter: str, render) -> bytes | None:
    """Every cell under a table header naming a duration, re-rendered by `render(seconds)`."""
    from pipelines.adapters.common import TimeFormatError, parse_duration_minutes

    rows = rows_of(text, delimiter)
    a, b = table_span(rows)
    columns = [i for i, h in enumerate(rows[a]) if re.search(r"duration|durée|durata|durasi", h,
                                                             re.IGNORECASE)]
    changed = False
    for r in rows[a + 1:b]:
        for i in columns:
            try:
                minutes = parse_duration_minutes(r[i]) if i < len(r) else None
            except TimeFormatError:
                continue
            if minutes is not None:
                new = render(round(minutes * 60))
                changed = changed or new != r[i]
                r[i] = new
    return write_rows(rows, delimiter).encode("utf-8") if changed else None


def durations_clock(text: str, delimiter: str) -> bytes | None:
    """h:mm:ss, as a spreadsheet shows a duration cell."""
    return _rewrite_durations(text, delimiter,
                              lambda s: f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}")


def durations_in_words(text: str, delimiter: str) -> bytes | None:
    """`1 hr 5 min 30 sec`, as Google Meet writes them."""
    def words(s: int) -> str:
        parts = [(s // 3600, "hr"), (s % 3600 // 60, "min"), (s % 60, "sec")]
        return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 min"
    return _rewrite_durations(text, delimiter, words)


def durations_teams(text: str, delimiter: str) -> bytes | None:
    """`1h 5m 30s`, as Teams writes them."""
    def short(s: int) -> str:
        parts = [(s // 3600, "h"), (s % 3600 // 60, "m"), (s % 60, "s")]
        return " ".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
    return _rewrite_durations(text, delimiter, short)


# --- what Excel really writes back --------------------------------------------------------------


def excel_minutes_resave(text: str, delimiter: str) -> bytes | None:
    """A CSV opened in Excel (en-GB) and saved again as CSV: every date and time it recognised
    written as it shows it, `02/10/2025 18:01`, seconds gone; a number of twelve digits or more
    (SurveyMonkey's respondent ids) as `1.14227E+11`; leading zeros gone. A time that carries a
    zone is text to Excel and stays as it was. Information is lost: this copy cannot load
    exactly what the original does, but loaded after it, it must add nothing."""
    rows = rows_of(text, delimiter)
    cells = [c for r in rows for c in r if _DATE_CELL.match(c)]
    month_first, _ = decide_month_first(cells, "Europe/London")
    changed = False
    for r in rows:
        for i, c in enumerate(r):
            m = _DATE_CELL.match(c)
            if m and not m["zone"] and ":" in c:
                dt, _ = parse_datetime(c, UTC, month_first)
                new = f"{dt.day:02d}/{dt.month:02d}/{dt.year} {dt.hour:02d}:{dt.minute:02d}"
            elif re.fullmatch(r"\d{12,}", c.strip()):
                mantissa, exponent = f"{float(c):.5E}".split("E")
                new = f"{mantissa.rstrip('0').rstrip('.')}E+{int(exponent):02d}"
            elif re.fullmatch(r"0\d+", c.strip()):
                new = str(int(c))
            else:
                continue
            changed = changed or new != c
            r[i] = new
    return write_rows(rows, delimiter).encode("utf-8") if changed else None
