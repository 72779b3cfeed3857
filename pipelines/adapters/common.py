"""What every export adapter needs: reading the bytes, finding the table, reading times,
durations and names the way meeting and survey tools write them.

Everything here is pure: text in, values out. The adapters decide what the values mean.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.calendar import quarter_of
from pipelines.adapters.base import AdapterError

# --- bytes to rows ------------------------------------------------------------------------------


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding name) with any byte-order mark removed, accents composed (NFC).

    Teams writes UTF-16 with a BOM; Zoom's newer reports and Luma write UTF-8 with a BOM; a file
    re-saved by Excel on Windows may be cp1252. A file saved on a Mac may write 'à' as 'a' and a
    combining accent: composed, it reads like any other ('13/04/2021 à 09:01:31', 'Sí').
    """
    text, encoding = _decode(raw)
    return unicodedata.normalize("NFC", text), encoding


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    # UTF-16 without a BOM: every other byte of ASCII text is zero, the second of each pair in
    # little-endian order (what Windows writes), the first in big-endian.
    sample = raw[:200]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return raw.decode("utf-16-le", errors="replace"), "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return raw.decode("utf-16-be", errors="replace"), "utf-16-be"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "cp1252"


def sniff_delimiter(text: str) -> str:
    """The separator of a delimited export: tab (Teams), semicolon (Excel in many European
    locales) or comma.

    Each of the first lines votes for the separator it holds most of; a tie goes to tab, then
    semicolon. Counting per line rather than over the whole head keeps the commas inside Teams'
    dates (`4/23/2021, 6:44:22 PM`) and names (`Goliath, David`) from outvoting the tabs or
    semicolons that separate every field.
    """
    votes = {"\t": 0, ";": 0, ",": 0}
    for line in [ln for ln in text.splitlines()[:30] if ln.strip()]:
        counts = {d: line.count(d) for d in votes}
        best = max(votes, key=lambda d: counts[d])  # dict order breaks ties: tab, ; then ,
        if counts[best]:
            votes[best] += 1
    best = max(votes, key=lambda d: votes[d])
    return best if votes[best] else ","


@dataclass(frozen=True)
class Row:
    line: int            # line in the file where the record starts (first line = 1)
    cells: list[str]

    def blank(self) -> bool:
        return not any(c.strip() for c in self.cells)


def read_rows(text: str, delimiter: str | None = None) -> list[Row]:
    """Every record of a delimited text, each with the line it starts on (quoted newlines kept)."""
    delim = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[Row] = []
    start = 1
    for cells in reader:
        rows.append(Row(start, [c.strip("\ufeff") for c in cells]))
        start = reader.line_num + 1
    return rows


def is_workbook(raw: bytes) -> bool:
    """An .xlsx (a zip) rather than delimited text, whatever the file is called."""
    return raw.startswith(b"PK\x03\x04")


def workbook_cell(value: object) -> str:
    """A workbook cell as the tool's CSV would have written it: whole numbers without `.0`
    (meeting ids, minutes), dates and times in ISO form, durations as h:mm:ss."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, timedelta):
        seconds = round(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return unicodedata.normalize("NFC", str(value).strip("\ufeff"))


def workbook_rows(path: Path) -> list[Row]:
    """The rows of an export saved as .xlsx (opened in Excel, or downloaded as a workbook): its
    first sheet that holds a table (a row of three or more cells), so an empty or notes sheet
    in front is skipped. Sizes were checked before (pipelines.workbook_check)."""
    try:
        from python_calamine import CalamineWorkbook  # heavy: only for workbooks

        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            rows = [Row(n, [workbook_cell(v) for v in values]) for n, values in
                    enumerate(book.get_sheet_by_name(name).to_python(skip_empty_area=False), 1)]
            if any(sum(1 for c in r.cells if c.strip()) >= 3 for r in rows):
                return rows
    except Exception as exc:  # a damaged workbook: say so rather than show a traceback
        raise AdapterError(f"{path}: cannot read this .xlsx ({type(exc).__name__}); save it "
                           "again from Excel, or download the export as CSV") from None
    raise AdapterError(f"{path}: no sheet of this workbook holds a table; download the export "
                       "as CSV, or save the sheet that holds it")


def read_file_rows(
    path: Path, words: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[list[Row], str]:
    """(rows, encoding) of a delimited export; with `words` (a format's header words per
    language), header rows in another interface language are put into English."""
    rows, encoding, _ = read_file_rows_in_language(path, words)
    return rows, encoding


def read_file_rows_in_language(
    path: Path, words: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[list[Row], str, str]:
    """(rows, encoding, interface language) of a delimited export: as `read_file_rows`, plus
    the language its header words were written in ('' for English), because some languages
    decide how the export writes its dates (`decide_month_first`)."""
    raw = path.read_bytes()
    try:
        if is_workbook(raw):
            rows, encoding = workbook_rows(path), "xlsx"
        else:
            text, encoding = decode(raw)
            rows = read_rows(text)
        if not words:
            return rows, encoding, ""
        translated, seen = translate_headers(rows, words)
        return translated, encoding, (seen[0] if seen else "")
    except csv.Error as exc:
        raise AdapterError(
            f"{path}: cannot be read as a delimited export ({exc}); download it again from the "
            "tool without editing it"
        ) from None


def cut_short_line(text: str) -> int | None:
    """The line where a delimited text stops in the middle of a row, or None.

    A download or copy that was interrupted leaves no line end after its last record, and that
    record either has fewer cells than the one before it or an opened quote that never closes.
    (A complete file may lack the final line end; its last row is then whole.)
    """
    if not text or text.endswith(("\n", "\r")):
        return None
    try:
        rows = [r for r in read_rows(text) if not r.blank()]
    except csv.Error:
        return None  # the reader reports broken quoting itself
    if len(rows) < 2:
        return None
    last, before = rows[-1], rows[-2]
    tail = "".join(text.splitlines(keepends=True)[last.line - 1:])
    if len(last.cells) < len(before.cells) or tail.count('"') % 2:
        return last.line
    return None


def norm_header(text: str) -> str:
    """Headers are matched case- and space-insensitively ('First Join' = 'first join'), with
    accents composed (a file saved on a Mac may write 'é' as 'e' and a combining accent)."""
    text = unicodedata.normalize("NFC", str(text))
    return " ".join(text.replace("\ufeff", "").strip().lower().split())


def translate_headers(
    rows: list[Row], words: Mapping[str, Mapping[str, str]]
) -> tuple[list[Row], list[str]]:
    """(rows with header words in English, languages seen) for an export written in the user's
    interface language.

    `words` is {language: {localised header (normalised): English header (normalised)}}. A row
    with two or more localised header words, or with one and no digits or addresses (a header
    where only some words are translated: 'Nama;Join Time;…'), is a header row and every such
    cell is translated; a row whose first cell is one and that holds at most two values is a summary line
    ('Titel<TAB>Value'). Data rows are left alone.
    """
    lookup = {local: (lang, english) for lang, table in words.items()
              for local, english in table.items()}
    seen: list[str] = []
    out: list[Row] = []
    for row in rows:
        found = [lookup.get(norm_header(c)) for c in row.cells]
        hits = sum(1 for f in found if f)
        filled = sum(1 for c in row.cells if c.strip())
        data_like = any(re.search(r"[\d@]", c) for c in row.cells)
        if hits >= 2 or (hits and not data_like) or (found and found[0] and filled <= 2):
            cells = [f[1] if f else c for c, f in zip(row.cells, found, strict=True)]
            for f in found:
                if f and f[0] not in seen:
                    seen.append(f[0])
            row = Row(row.line, cells)
        out.append(row)
    return out, seen


_QUESTION_CODE = re.compile(r"^([A-Za-z][\w\[\]]*)\.\s+\S")


def question_code(heading: str) -> str:
    """'submitdate' from LimeSurvey's 'Question code. Question text' heading ('' otherwise)."""
    m = _QUESTION_CODE.match(heading.strip())
    return m[1] if m else ""


def table_start(rows: list[Row]) -> int:
    """Index of an export's first header row past what people put above it: blank lines, and
    a title or note (`Exported 2025-06-01`, at most two cells) above a wider table."""
    def filled(row: Row) -> int:
        return sum(1 for c in row.cells if c.strip())

    i = 0
    while i < len(rows) and (rows[i].blank() or (
            filled(rows[i]) <= 2 and any(filled(r) >= 3 for r in rows[i + 1:i + 11]))):
        i += 1
    return i if i < len(rows) else 0


def find_header(rows: list[Row], required: set[str], start: int = 0) -> int | None:
    """Index of the first row at or after `start` whose normalised cells include all `required`."""
    for i in range(start, len(rows)):
        cells = {norm_header(c) for c in rows[i].cells}
        if required <= cells:
            return i
    return None


def table(rows: list[Row], header_index: int) -> tuple[list[str], list[Row]]:
    """(normalised header, data rows) from a header row to the first blank or section row."""
    header = [norm_header(c) for c in rows[header_index].cells]
    data: list[Row] = []
    for row in rows[header_index + 1:]:
        if row.blank() or SECTION.match(row.cells[0].strip()):
            break
        data.append(row)
    return header, data


SECTION = re.compile(r"^\d+\.\s+\S")  # Teams' "1. Summary", "2. Participants", ...


def cell(header: list[str], row: Row, *names: str) -> str:
    """The value under the first of `names` present in the header ('' when absent)."""
    for name in names:
        if name in header:
            i = header.index(name)
            return row.cells[i].strip() if i < len(row.cells) else ""
    return ""


def key_values(rows: list[Row]) -> dict[str, str]:
    """A 'Label<sep>Value' block (Teams' summaries) as {normalised label: value}."""
    out: dict[str, str] = {}
    for row in rows:
        filled = [c for c in row.cells if c.strip()]
        if len(filled) >= 2:
            out.setdefault(norm_header(filled[0]), filled[1].strip())
    return out


# --- times ----------------------------------------------------------------------------------------

# The larger patterns of this module are compiled when first used (@cache): compiled at import
# they cost 10 ms, paid by every command that imports the adapters, `hearth formats` too,
# which only lists them (docs/benchmarks.md, CLI start-up).

@cache
def _date_time() -> re.Pattern[str]:
    return re.compile(
        r"^\s*(?P<a>\d{1,4})[/.\-](?P<b>\d{1,2})[/.\-](?P<c>\d{1,4})"
        r"(?:(?:[,T ]|\s+à)\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d+))?)?"
        r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
        r"\s*(?P<zone>Z|[A-Za-z]{2,5}(?:[+\-]\d{1,2}(?::?\d{2})?)?|[+\-]\d{2}:?\d{2})?\s*$"
    )


_TIME_ONLY = re.compile(
    r"^\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?\s*$"
)

# Zone abbreviations that survey tools print after a timestamp (Google Forms: "EST", "GMT+5:30").
ZONE_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 60, "IST": 330, "CET": 60, "CEST": 120,
    "EET": 120, "EEST": 180, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420,
    "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "AEST": 600, "AEDT": 660, "ACST": 570, "AWST": 480, "NZST": 720, "NZDT": 780, "JST": 540,
    "SGT": 480,
}

MONTH_FIRST_ZONES = ("America/", "US/", "Pacific/Honolulu", "Canada/")


def month_first_by_zone(zone_name: str) -> bool:
    """Where the data cannot tell: programs in the Americas get month-first dates (en-US)."""
    return zone_name.startswith(MONTH_FIRST_ZONES)


class TimeFormatError(ValueError):
    """A time that matches none of the shapes the export tools write."""


def _zone_offset(text: str) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    m = re.fullmatch(r"([A-Za-z]{2,5})?([+\-])?(\d{1,2})?(?::?(\d{2}))?", text)
    if not m:
        return None
    abbr, sign, hours, minutes = m.groups()
    base = 0
    if abbr:
        if abbr.upper() not in ZONE_ABBREVIATIONS:
            raise TimeFormatError(f"unknown time zone abbreviation {abbr!r}")
        base = ZONE_ABBREVIATIONS[abbr.upper()]
    if hours:
        base += (1 if sign != "-" else -1) * (int(hours) * 60 + int(minutes or 0))
    return timezone(timedelta(minutes=base))


def _hour(h: int, ampm: str | None) -> int:
    if not ampm:
        return h
    pm = ampm.lower().startswith("p")
    if not 1 <= h <= 12:
        raise TimeFormatError("hour out of range for a 12-hour clock")
    return (h % 12) + (12 if pm else 0)


def date_parts(text: str) -> tuple[int, int] | None:
    """The first two numbers of a slashed date (to decide day- or month-first from the data)."""
    m = _date_time().match(split_named_zone(text or "")[0])
    if not m or len(m["a"]) == 4:
        return None
    return int(m["a"]), int(m["b"])


# Interface languages whose exports write day-first dates even with a 12-hour clock: Brazilian
# Zoom files read `07/01/2026 06:16:46 PM` for 7 January (sources in docs/formats.md).
DAY_FIRST_LANGUAGES = {"es": "Spanish", "pt": "Portuguese"}


def decide_month_first(values: list[str], zone_name: str, language: str = "") -> tuple[bool, str]:
    """(month_first, how it was decided) for a column of slashed dates.

    A first number above 12 can only be a day; a second above 12 only a day. Then the export's
    interface language, where it fixes the order (`DAY_FIRST_LANGUAGES`); 12-hour clocks
    (AM/PM) are otherwise the en-US habit. Failing all that, the program's time zone decides.
    """
    parts = [p for p in (date_parts(v) for v in values) if p]
    if any(a > 12 for a, _ in parts):
        return False, "day-first (read from the data)"
    if any(b > 12 for _, b in parts):
        return True, "month-first (read from the data)"
    if language in DAY_FIRST_LANGUAGES and parts:
        return False, f"day-first (as {DAY_FIRST_LANGUAGES[language]} exports write them)"
    if any(re.search(r"\d\s*[AaPp]\.?[Mm]\.?", v or "") for v in values):
        return True, "month-first (12-hour clock, as en-US writes)"
    first = month_first_by_zone(zone_name)
    how = "month-first" if first else "day-first"
    return first, f"{how} (ambiguous in the data; taken from program.time_zone {zone_name})"


def parse_datetime(text: str, zone: ZoneInfo, month_first: bool = True) -> tuple[datetime, bool]:
    """(aware datetime, had_zone) from the shapes meeting and survey tools write.

    `2021-11-19 09:54:15`, `2026-04-09T20:18:25.760Z`, `11/19/2021 9:54:15 AM`,
    `4/23/2021, 6:44:22 PM`, `15/11/22, 09:30:17`, `2022/10/17 6:31:58 PM EST`,
    `… GMT+5:30`, `13/04/2021 à 09:01:31` (French Teams), `2020/12/8 8:35` (Japanese Zoom). A time without a zone is read in `zone` (had_zone False).
    """
    serial = excel_serial(text)
    if serial is not None:
        return serial.replace(tzinfo=zone), False
    text, named = split_named_zone(_numeric_month(text or ""))
    m = _date_time().match(text)
    if not m:
        raise TimeFormatError(f"not a date and time: {text!r}")
    a, b, c = m["a"], m["b"], m["c"]
    if len(a) == 4:
        year, month, day = int(a), int(b), int(c)
    else:
        first, second = int(a), int(b)
        # Dotted dates (`01.04.2025 18:30`) are written day-first in every locale that uses them.
        dotted = text.strip()[len(a)] == "."
        month, day = (first, second) if month_first and not dotted else (second, first)
        year = int(c)
        if len(c) == 2:
            year += 2000
    hour = _hour(int(m["h"] or 0), m["ampm"])
    frac = (m["frac"] or "0")[:6].ljust(6, "0")
    try:
        naive = datetime(year, month, day, hour, int(m["mi"] or 0), int(m["s"] or 0), int(frac))
    except ValueError as exc:
        raise TimeFormatError(f"not a valid date: {text!r} ({exc})") from None
    if named is not None:
        return naive.replace(tzinfo=named), True
    offset = _zone_offset(m["zone"] or "")
    if offset is not None:
        return naive.replace(tzinfo=offset), True
    return naive.replace(tzinfo=zone), False


_NAMED_ZONE = re.compile(r"\s+\(?([A-Za-z]+(?:/[A-Za-z0-9_+\-]+)+)\)?\s*$")
_BRACKETED_OFFSET = re.compile(r"\(\s*((?:GMT|UTC)\s*[+\-]\s*\d{1,2}(?::?\d{2})?|GMT|UTC)\s*\)\s*$",
                               re.IGNORECASE)


def split_named_zone(text: str) -> tuple[str, ZoneInfo | None]:
    """(the date and time, its zone) for a time that names its zone the IANA way
    (`2025/06/20 18:31:58 America/New_York`); a bracketed offset (`6:31 PM (GMT+05:30)`) loses
    its brackets so the offset reads as usual. Daylight saving is the zone's own on that date."""
    text = _BRACKETED_OFFSET.sub(lambda m: m[1].replace(" ", ""), text).rstrip()
    m = _NAMED_ZONE.search(text)
    if m:
        try:
            return text[: m.start()], ZoneInfo(m[1])
        except (ValueError, KeyError, OSError):  # not a zone this machine knows: not a date
            pass
    return text, None


# English month names, as Eventbrite-style reports and spreadsheets write dates:
# `April 1, 2025 6:30 PM`, `Tue, Apr 1, 2025 at 6:30 PM`, `1 Apr 2025 18:30`.
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?")


@cache
def _named_month() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The month first (`April 1, 2025`) and the day first (`1 Apr 2025`)."""
    return (
        re.compile(
            rf"^\s*(?:[a-z]{{3,9}},?\s+)?{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})"
            r"(?:\s*,?\s*(?:at\s+)?(?P<rest>\d.*))?$", re.IGNORECASE),
        re.compile(
            rf"^\s*(?:[a-z]{{3,9}},?\s+)?(?P<d>\d{{1,2}})\s+{_MONTH},?\s+(?P<y>\d{{4}})"
            r"(?:\s*,?\s*(?:at\s+)?(?P<rest>\d.*))?$", re.IGNORECASE),
    )


def _numeric_month(text: str) -> str:
    """`April 1, 2025 6:30 PM` -> `2025-04-01 6:30 PM`; anything else unchanged."""
    month_first, day_first = _named_month()
    m = month_first.match(text) or day_first.match(text)
    if not m:
        return text
    date_part = f"{m['y']}-{_MONTHS[m['mon'][:3].lower()]:02d}-{int(m['d']):02d}"
    return f"{date_part} {m['rest']}" if m["rest"] else date_part


# A date Excel turned into its serial number (days since 1899-12-30; the fraction is the time of
# day): `45678` or `45678.5` (`45678,5` after a European Excel). Five digits cover 1927-2173,
# far from any minutes or counts a date column could hold.
EXCEL_SERIAL = re.compile(r"^\s*(\d{5})(?:[.,](\d+))?\s*$")
_EXCEL_EPOCH = datetime(1899, 12, 30)


EXCEL_SERIAL_NOTE = ("dates written as Excel serial numbers (such as 45678.5: the file was opened and "
                     "saved in Excel) were converted to dates and times")


def excel_serial(text: str) -> datetime | None:
    """The naive date and time an Excel serial number stands for, or None if `text` is none."""
    m = EXCEL_SERIAL.match(text or "")
    if not m:
        return None
    days = float(f"{m[1]}.{m[2] or 0}")
    # to the second, as Excel shows it (45678.5 is exactly 12:00:00)
    return _EXCEL_EPOCH + timedelta(seconds=round(days * 86400))


def parse_time_of_day(text: str) -> time:
    """`6:31 PM`, `18:31`, `18:31:05` (Google Meet's join/exit columns)."""
    m = _TIME_ONLY.match(text or "")
    if not m:
        raise TimeFormatError(f"not a time of day: {text!r}")
    return time(_hour(int(m["h"]), m["ampm"]), int(m["mi"]), int(m["s"] or 0))


def iso(dt: datetime) -> str:
    """ISO 8601 with offset, to the second: `2025-04-01T18:30:00+01:00`."""
    return dt.replace(microsecond=0).isoformat()


# --- durations ------------------------------------------------------------------------------------

@cache
def _duration_part() -> re.Pattern[str]:
    return re.compile(
        r"(\d+(?:[.,]\d+)?)\s*(hours?|hrs?|h|std\.?|min\.|minutes?|mins?|m|sek\.|seconds?|secs?|s)"
        r"(?![a-z])", re.IGNORECASE
    )


def parse_duration_minutes(text: str) -> float | None:
    """Minutes from `29m 22s`, `2h 30m 1s`, `1h5m`, `1 hr 5 min`, `65 mins`, `45 min`, `30 sec`,
    `58` (minutes; `58,5` from a European Excel), `01:05:30` or `1:05` (h:mm). None when empty."""
    t = (text or "").strip()
    if not t:
        return None
    if re.fullmatch(r"\d+(?:[.,]\d+)?", t):  # minutes; a decimal comma from a European Excel
        return float(t.replace(",", "."))
    m = re.fullmatch(r"(\d+):(\d{2}):(\d{2})(?:[.,]\d+)?", t)
    if m:
        return int(m[1]) * 60 + int(m[2]) + int(m[3]) / 60
    m = re.fullmatch(r"(\d+):(\d{2})", t)  # h:mm, as a spreadsheet shows a duration
    if m:
        return int(m[1]) * 60 + int(m[2])
    total = 0.0
    matched = ""
    for part in _duration_part().finditer(t):
        value, unit = float(part[1].replace(",", ".")), part[2].lower()
        total += value * 60 if unit.startswith("h") else value / 60 if unit.startswith("s") else value
        matched += part[0]
    if not matched or re.sub(r"\s", "", matched) != re.sub(r"\s", "", t):
        raise TimeFormatError(f"not a duration: {text!r}")
    return total


def union_minutes(intervals: list[tuple[datetime, datetime]]) -> float:
    """Minutes covered by the union of the intervals (overlaps and repeats counted once)."""
    total = 0.0
    end: datetime | None = None
    start: datetime | None = None
    for s, e in sorted(intervals):
        if e < s:
            s, e = e, s
        if end is None or s > end:
            if end is not None and start is not None:
                total += (end - start).total_seconds()
            start, end = s, e
        elif e > end:
            end = e
    if end is not None and start is not None:
        total += (end - start).total_seconds()
    return total / 60


def whole_minutes(minutes: float) -> int:
    """Round half up, as people read durations (29m 30s -> 30)."""
    return int(minutes + 0.5)


# --- names and emails -------------------------------------------------------------------------

_DEVICE = (
    r"iphone|ipad|ipod|android|galaxy(?:\s+\w+)?|pixel(?:\s+\w+)?|samsung(?:\s+\w+)?|"
    r"macbook(?:\s+(?:pro|air))?|imac|ipad\s+pro|surface(?:\s+\w+)?|laptop|phone|tablet|pc"
)


@cache
def _devices() -> tuple[re.Pattern[str], ...]:
    """A device before the name ("iPhone de Ana"), after it ("Ana's iPad", "Ana - Galaxy S21")."""
    return (re.compile(rf"^(?:{_DEVICE})\s+(?:de|di|von|van|of|da|do)\s+(.+)$", re.IGNORECASE),
            re.compile(rf"^(.+?)['’]s\s+(?:{_DEVICE})$", re.IGNORECASE),
            re.compile(rf"^(.+?)\s*[-–:|]\s*(?:{_DEVICE})$", re.IGNORECASE))


@cache
def _tags() -> re.Pattern[str]:
    return re.compile(
        r"\s*[\(\[](?:guest|external|ext|extern|invit[ée]|unverified|organi[sz]er|host|co-?host|"
        r"he/him|she/her|they/them|he/they|she/they)[\)\]]\s*",
        re.IGNORECASE,
    )


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def norm_email(text: str | None) -> str:
    """Lower-case, stripped; googlemail.com is gmail.com. '' when not an address."""
    e = (text or "").strip().lower()
    if "@" not in e:
        return ""
    local, _, domain = e.rpartition("@")
    if domain == "googlemail.com":
        domain = "gmail.com"
    return f"{local}@{domain}"


def norm_name(text: str | None) -> str:
    """Case, accents, spacing and punctuation folded; 'Last, First' becomes 'first last'."""
    t = strip_accents(str(text or "")).strip()
    if t.count(",") == 1:
        last, first = (p.strip() for p in t.split(","))
        if last and first:
            t = f"{first} {last}"
    t = re.sub(r"[^\w\s'-]", " ", t.lower())
    return " ".join(t.split())


def name_candidates(display: str) -> list[str]:
    """Normalised names a meeting display name may stand for, best first.

    Strips "(Guest)" and pronoun tags, device prefixes and suffixes ("iPhone de Ana",
    "Ana's iPad", "Ana - Galaxy S21") and, for Zoom's "Name (Original Name)", also offers the
    name inside the brackets.
    """
    t = _tags().sub(" ", display or "").strip()
    t = _NUMBERED.sub("", t)  # Zoom breakout renames: "019_Mockingbird"
    found: list[str] = []
    inner = re.fullmatch(r"(.+?)\s*\(([^()]+)\)\s*", t)
    bases = [inner[1], inner[2]] if inner else [t]
    for base in bases:
        base = base.strip()
        for pattern in _devices():
            m = pattern.match(base)
            if m:
                base = m[1].strip()
                break
        n = norm_name(base)
        if n and n not in found:
            found.append(n)
    return found


_NUMBERED = re.compile(r"^\d{1,4}\s*[_\-.:)]\s*(?=\S)")


def _tokens(name: str) -> str:
    """A normalised name as its sorted words: 'mustermann max' and 'max mustermann' agree."""
    return " ".join(sorted(name.split()))


@dataclass(frozen=True)
class RosterMatch:
    member_id: str | None
    how: str  # "email", "name", "reordered name", "one name", or "" when no member matched
    suggestion: str = ""  # for a guest: the roster entry the name most resembles


class RosterMatcher:
    """Matches meeting participants to one group's roster: email first, then a unique name.

    Names are tried as written, then with their words in any order (surname first without a
    comma: 'Mustermann Max', 'JANSSENS JAN (EXT)'), then, for a single word ('019_Mockingbird'
    once the breakout number is off), the one member whose name holds that word. Every step
    matches only when exactly one member fits: two members sharing a name are told apart by
    email alone.
    """

    def __init__(self, roster_rows: list[dict]):
        self.by_email: dict[str, str] = {}
        by_name: dict[str, set[str]] = {}
        by_tokens: dict[str, set[str]] = {}
        by_word: dict[str, set[str]] = {}
        self.names: dict[str, str] = {}
        for r in roster_rows:
            member = str(r["member_id"])
            email = norm_email(_text(r.get("email")))
            if email:
                self.by_email.setdefault(email, member)
            name = norm_name(_text(r.get("name")))
            if name:
                self.names.setdefault(member, _text(r.get("name")).strip())
                by_name.setdefault(name, set()).add(member)
                by_tokens.setdefault(_tokens(name), set()).add(member)
                for word in name.split():
                    by_word.setdefault(word, set()).add(member)
        self.by_name = _unique(by_name)
        self.by_tokens = _unique(by_tokens)
        self.by_word = _unique(by_word)

    def match(self, name: str, email: str) -> RosterMatch:
        e = norm_email(email)
        if e and e in self.by_email:
            return RosterMatch(self.by_email[e], "email")
        candidates = name_candidates(name)
        for candidate in candidates:
            if candidate in self.by_name:
                return RosterMatch(self.by_name[candidate], "name")
        for candidate in candidates:
            if _tokens(candidate) in self.by_tokens:
                return RosterMatch(self.by_tokens[_tokens(candidate)], "reordered name")
        for candidate in candidates:
            if " " not in candidate and len(candidate) >= 3 and candidate in self.by_word:
                return RosterMatch(self.by_word[candidate], "one name")
        return RosterMatch(None, "", self.suggest(candidates))

    def suggest(self, candidates: list[str]) -> str:
        """'m07 (Max Mustermann)': the roster entry a guest's name most resembles, or ''."""
        best, score = "", 0.0
        for member, shown in self.names.items():
            theirs = _tokens(norm_name(shown))
            for candidate in candidates:
                ratio = difflib.SequenceMatcher(None, _tokens(candidate), theirs).ratio()
                if ratio > score:
                    best, score = member, ratio
        return f"{best} ({self.names[best]})" if best and score >= 0.75 else ""


def _unique(index: dict[str, set[str]]) -> dict[str, str]:
    return {key: next(iter(ms)) for key, ms in index.items() if len(ms) == 1}


def _text(value) -> str:
    if value is None:
        return ""
    try:
        if value != value:  # NaN / NA
            return ""
    except (TypeError, ValueError):
        return ""
    return str(value)


def as_date(value) -> date | None:
    """A roster date (date, Timestamp, 'YYYY-MM-DD' or empty) as a date."""
    t = _text(value).strip()
    if not t or t.lower() in {"nat", "none"}:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(t[:10])


# --- quarters -------------------------------------------------------------------------------------


def survey_quarter(day: date, fiscal_year_start_month: int = 1) -> str:
    """The quarter a response belongs to, e.g. '2025Q3' (hearth.calendar's rule, so surveys
    and indicators agree): calendar quarters by default; with a fiscal year starting in
    another month the year is named by the calendar year in which it ends (start month 4:
    2025-05-10 is '2026Q1')."""
    return quarter_of(day, fiscal_year_start_month)
