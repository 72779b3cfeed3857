"""Real exports in: meeting and survey tool exports turned into Hearth's canonical frames.

Detection reads content (byte-order mark, encoding, delimiter, header signature), never only
the file name. Parsing is pure: an adapter returns canonical frames plus what it turned away,
and pipelines.ingest validates and loads them like any canonical file.

    fmt = detect_format(path, path.read_bytes()[:65536])
    parsed = parse_export(path, fmt, config, roster, instrument)

Layout: base (AdapterError, Parsed, Format), common (bytes, times, names), attendance and
surveys (what every meeting / survey format shares), formats/ (one module per export format),
registry (collects them), detect (which format a file is).
"""

from __future__ import annotations

from pipelines.adapters.base import AdapterError, Format, Parsed
from pipelines.adapters.detect import detect_format, foreign_export, looks_like, near_miss
from pipelines.adapters.registry import FORMATS, format_list, parse_export, unknown_format_message

__all__ = [
    "FORMATS", "AdapterError", "Format", "Parsed", "detect_format", "foreign_export",
    "format_list", "looks_like", "near_miss", "parse_export", "unknown_format_message",
]
