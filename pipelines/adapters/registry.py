"""Every export format Hearth reads, collected from pipelines/adapters/formats/.

A format is one module there with a `FORMAT = Format(...)`; modules whose name starts with '_'
hold what several formats share and are skipped. Adding a format is adding one module (and its
fixture under tests/fixtures/exports/): detection, `--format`, `hearth formats` and the
unknown-file message all read this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pipelines.adapters.formats as _formats_package
from pipelines.adapters.attendance import build_attendance
from pipelines.adapters.base import AdapterError, Format, Parsed
from pipelines.adapters.common import TimeFormatError, cut_short_line, decode, is_workbook
from pipelines.adapters.surveys import build_survey

if TYPE_CHECKING:
    import pandas as pd

    from hearth.config import Config
    from hearth.instrument import Instrument

KINDS = {"attendance": "Attendance", "survey_responses": "Surveys"}


def _collect() -> dict[str, Format]:
    found: list[Format] = []
    for module in pkgutil.iter_modules(_formats_package.__path__):
        if module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"{_formats_package.__name__}.{module.name}")
        fmt = getattr(loaded, "FORMAT", None)
        if not isinstance(fmt, Format) or fmt.name != module.name:
            raise TypeError(  # a programming error in a new format module, caught by the tests
                f"pipelines/adapters/formats/{module.name}.py must define FORMAT = Format("
                f"name={module.name!r}, ...)"
            )
        if fmt.kind not in KINDS:
            raise TypeError(f"format {fmt.name}: kind must be one of {', '.join(KINDS)}")
        found.append(fmt)
    found.sort(key=lambda f: (list(KINDS).index(f.kind), f.name))
    return {f.name: f for f in found}


FORMATS: dict[str, Format] = _collect()


def parse_export(
    path: Path, fmt: str, config: Config, roster: pd.DataFrame, instrument: Instrument
) -> Parsed:
    """Read one export into canonical frames. Raises AdapterError for a file it cannot use."""
    path = Path(path)
    if fmt not in FORMATS:
        raise AdapterError(
            f"{path}: unknown export format {fmt!r}; use one of {', '.join(FORMATS)} "
            "(see `hearth formats`)"
        )
    info = FORMATS[fmt]
    raw = path.read_bytes()
    if info.container == "text" and not is_workbook(raw):
        line = cut_short_line(decode(raw)[0])
        if line is not None:
            # Loading the rows before the cut would count everyone after it as absent (or
            # their responses as never given): refuse the whole file.
            raise AdapterError(
                f"{path}: the file stops in the middle of line {line}: it was cut short (an "
                "interrupted download or copy), so nothing was loaded; download it again from the "
                f"tool ({info.title}) and ingest the complete file"
            )
    try:
        read = info.read(path, config)
        if not _has_rows(read):
            raise AdapterError(_no_rows_message(path, info))
        if info.kind == "attendance":
            return build_attendance(path, fmt, read, config, roster)
        return build_survey(path, fmt, read, config, instrument)
    except TimeFormatError as exc:  # a meeting-level time (start, end) nobody could read
        raise AdapterError(
            f"{path}: {_detail(exc, info, as_text=True)}; this does not look like a {info.title} "
            "export as the tool writes it (download it again, or check --format)"
        ) from None
    except (IndexError, KeyError, ValueError) as exc:
        if isinstance(exc, AdapterError):
            raise
        raise AdapterError(
            f"{path}: not laid out like a {info.title} export ({_detail(exc, info)}); "
            "download it again from the tool, or check --format (`hearth formats` lists them)"
        ) from None


def _has_rows(read) -> bool:
    """Whether the export holds any row under its header (a Meeting counts every data row it
    read, a SurveyTable keeps them as records)."""
    if hasattr(read, "records"):
        return bool(read.records)
    return bool(read.rows_read or read.segments)


def _no_rows_message(path: Path, info: Format) -> str:
    """One line for an export that holds its header (rows) and nothing under them: downloaded
    before anyone came or answered, or cut off right after the header."""
    if info.kind == "attendance":
        return (f"{path}: this {info.title} holds its header but no participant rows, so it says "
                "nothing about who came; nothing loaded. Download it again from the tool after "
                "the meeting or event (if the file was cut short, the complete download has the "
                "rows)")
    return (f"{path}: this {info.title} export holds its header row(s) but no responses; "
            "nothing loaded. Download the responses again once people have answered (if the "
            "file was cut short, the complete download has them)")


def _detail(exc: Exception, info: Format, as_text: bool = False) -> str:
    """What went wrong, for the message. A survey export's cells are answers, and an exception
    may quote the cell it choked on: for surveys only the kind of problem is named."""
    if info.kind == "survey_responses":
        return f"{type(exc).__name__} while reading its rows"
    return str(exc) if as_text else repr(exc)


def unknown_format_message(path: Path) -> str:
    """What to tell someone whose file is neither canonical nor an export Hearth knows."""
    lines = [
        f"{path}: not a canonical Hearth CSV and not an export Hearth recognises.",
        "Hearth reads these exports (their header rows are recognised automatically):",
    ]
    lines += [f"  {name:<18} {info.title}" for name, info in FORMATS.items()]
    lines += [
        "If the file is one of these, force it with `hearth ingest --format NAME FILE`.",
        "Otherwise rearrange it as a canonical CSV (docs/formats.md: sessions.csv + "
        "attendance.csv, or survey_responses.csv) and ingest that; map meetings to groups under "
        "[meetings] in hearth.toml.",
    ]
    return "\n".join(lines)


def format_list() -> str:
    """The text `hearth formats` prints."""
    out = []
    pad = " " * 21
    for kind, heading in KINDS.items():
        out.append(f"{heading}:")
        for name, info in FORMATS.items():
            if info.kind == kind:
                out.append(f"  {name:<18} {info.title}")
                described = [("export: ", info.how_to_export), ("reads:  ", info.description),
                             ("languages: ", ", ".join(info.language_codes))]
                if info.variants:
                    described.append(("variants: ", "; ".join(info.variants)))
                for label, text in described:
                    out += textwrap.wrap(text, 98, initial_indent=pad + label,
                                         subsequent_indent=pad + " " * len(label))
        out.append("")
    out += textwrap.wrap(EVERY_FORMAT, 98)
    out.append("Meetings map to groups under [meetings] in hearth.toml (meeting id or title).")
    return "\n".join(out)


# What every format above tolerates (tests/test_messy_exports.py checks each on every fixture).
EVERY_FORMAT = (
    "Every format is also read after a trip through a spreadsheet: saved as .xlsx or .ods; re-saved as "
    "CSV with ; or tabs, Windows-1252 / Latin-1 or UTF-16 (LE or BE, with or without a BOM), "
    "CRLF or CR line ends, quotes dropped or added; notes and blank lines above or below the "
    "table, empty columns, trailing separators, header case and spacing changed, columns "
    "reordered; dates ISO, en-GB, en-US, German or as Excel serial numbers, 12- or 24-hour "
    "clocks, zones as EST, GMT+5:30 or America/New_York (day or month first is read from the "
    "file's own dates, and said when guessed); durations as 1:05:30, 1 hr 5 min or 1h 5m. A "
    "missing column is named; two meetings pasted into one file are refused (docs/formats.md)."
)
