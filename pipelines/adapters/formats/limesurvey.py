"""LimeSurvey responses: every field quoted; an empty submitdate is an incomplete response.

Headings come as the question code (`submitdate`, `Q1[SQ001]`), the full question text, or both
(`submitdate. Date submitted`, 'Question code and question text'); with 'answer codes and full
answers' an answer reads `Agree (6)`.
"""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.base import AdapterError, Format, Signature
from pipelines.adapters.common import Row, norm_header, question_code, read_file_rows
from pipelines.adapters.surveys import (
    HEADER_SEARCH,
    METADATA,
    Column,
    SurveyTable,
    grid_texts,
    program_zone,
)


def read_limesurvey(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    rows = rows[_header_row(path, rows):]
    cols = []
    for i, heading in enumerate(rows[0].cells):
        code = question_code(heading)
        # The code decides the column's role; the text (and the code, for aliases) its item.
        text = heading.strip()[len(code) + 1:].strip() if code else heading
        key = norm_header(code or heading)
        role = "submitted" if key == "submitdate" else "metadata" if key in METADATA else "question"
        texts = [code, *grid_texts(text)] if code else grid_texts(heading)
        cols.append(Column(i, heading, texts, role))
    submitted = [c.index for c in cols if c.role == "submitted"]
    if not submitted:
        raise AdapterError(f"{path}: no 'submitdate' column; export the responses again")
    s = submitted[0]
    t = SurveyTable(cols, [r for r in rows[1:] if not r.blank()], program_zone(config))
    t.complete = lambda cells: s < len(cells) and bool(cells[s].strip())
    t.incomplete_note = "empty submitdate"
    t.response_id_header = "id"
    t.answer_codes = True
    return t


def _header_row(path: Path, rows: list[Row]) -> int:
    """The heading row, found by its codes (`id`, `submitdate`) however the headings are written;
    never assumed to be line 1. The message names the columns expected, never a value."""
    for at, row in enumerate(rows[:HEADER_SEARCH]):
        if {"id", "submitdate"} <= {norm_header(question_code(c) or c) for c in row.cells}:
            return at
    raise AdapterError(
        f"{path}: no header row naming id, submitdate; this is not a LimeSurvey export as the "
        "tool writes it (download it again without editing it)"
    )


FORMAT = Format(
    name="limesurvey",
    title="LimeSurvey responses",
    kind="survey_responses",
    how_to_export="Responses > Export > CSV, 'Full answers' (or 'Answer codes and full answers'), "
                  "headings 'Question code', 'Full question text' or both.",
    description="Every field quoted; id, submitdate (empty = incomplete), ipaddr; sub-questions "
                "Q[SQ001]; headings 'code. question text'; answers 'Agree (6)'.",
    signatures=(Signature(first_row=frozenset({"id", "submitdate", "lastpage", "startlanguage"})),),
    read=read_limesurvey,
    variants=(
        "headings as question codes", "headings as full question text",
        "headings 'code. question text'", "answers 'Agree (6)' (label, then code)",
    ),
)
