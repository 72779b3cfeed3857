"""Typeform responses: #, the questions, then Response Type and dates in UTC."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.config import Config
from pipelines.adapters.base import Format, Signature
from pipelines.adapters.common import norm_header, read_file_rows, table_start
from pipelines.adapters.surveys import (
    SurveyTable,
    simple_table,
)


def read_typeform(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    header = [norm_header(h) for h in rows[table_start(rows)].cells] if rows else []
    submitted = "submit date (utc)" if "submit date (utc)" in header else "submitted at"
    t = simple_table(path, rows, submitted, config)
    t.zone = ZoneInfo("UTC")
    if "response type" in header:
        i = header.index("response type")
        t.complete = lambda cells: i >= len(cells) or cells[i].strip().lower() != "partial"
        t.incomplete_note = "Response Type partial"
    t.response_id_header = "#"  # the response token
    return t


FORMAT = Format(
    name="typeform",
    title="Typeform responses",
    kind="survey_responses",
    how_to_export="Typeform > Results > Responses > Download all responses (.csv).",
    description="#, question columns, Response Type, Start Date (UTC), Submit Date (UTC), Network ID.",
    signatures=(
        Signature(first_cell="#", first_row_any=frozenset(
            {"submit date (utc)", "submitted at", "response type", "network id"})),
    ),
    read=read_typeform,
)
