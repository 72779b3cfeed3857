"""LimeSurvey responses: every field quoted; an empty submitdate is an incomplete response."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.base import Format, Signature
from pipelines.adapters.common import norm_header, read_file_rows
from pipelines.adapters.surveys import (
    SurveyTable,
    header_index,
    simple_table,
)


def read_limesurvey(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    rows = rows[header_index(path, rows, {"id", "submitdate"}, "LimeSurvey"):]
    t = simple_table(path, rows, "submitdate", config)
    header = [norm_header(h) for h in rows[0].cells]
    s = header.index("submitdate")
    t.complete = lambda cells: s < len(cells) and bool(cells[s].strip())
    t.incomplete_note = "empty submitdate"
    t.response_id_header = "id"
    return t


FORMAT = Format(
    name="limesurvey",
    title="LimeSurvey responses",
    kind="survey_responses",
    how_to_export="Responses > Export > CSV, 'Full answers', headings 'Question code' or 'Full question text'.",
    description="Every field quoted; id, submitdate (empty = incomplete), ipaddr; sub-questions Q[SQ001].",
    signatures=(Signature(first_row=frozenset({"id", "submitdate", "lastpage", "startlanguage"})),),
    read=read_limesurvey,
)
