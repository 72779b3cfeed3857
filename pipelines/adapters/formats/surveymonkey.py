"""SurveyMonkey responses: two header rows (question over Response / option label)."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.base import AdapterError, Format, Signature
from pipelines.adapters.common import norm_header, read_file_rows
from pipelines.adapters.surveys import (
    METADATA,
    Column,
    SurveyTable,
    header_index,
    is_response,
    program_zone,
)
from pipelines.scrub import identifying_question


def read_surveymonkey(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    first = header_index(path, rows, {"respondent id", "collector id"}, "SurveyMonkey")
    top = rows[first].cells
    keys = [norm_header(h) for h in top]
    times = [i for i, k in enumerate(keys) if k in {"start date", "end date"}]
    ids = [i for i, k in enumerate(keys) if k in {"respondent id", "collector id"}]
    # The second header row (Response / option labels) is recognised by content: a respondent's
    # row in its place (the row deleted by hand) is data, and never read as column names.
    following = rows[first + 1] if first + 1 < len(rows) else None
    # ... and the tool leaves it blank under its own columns (ids, dates, IP, email, names,
    # custom data): a respondent's row with its ids and dates blank still holds their name or
    # email there, and read as the second header row it printed "First Name [<their name>]"
    # and their answers as option labels.
    own = [i for i, (h, k) in enumerate(zip(top, keys, strict=True))
           if k in METADATA or identifying_question(h)]
    has_sub = following is not None and not is_response(following.cells, times, ids) and not any(
        i < len(following.cells) and following.cells[i].strip() for i in own)
    sub = following.cells if has_sub else []
    notes = [] if has_sub else [
        "the second header row (Response / option labels) is missing, so the columns of a "
        "matrix question cannot be told apart; export 'All individual responses' again"
    ]
    cols = []
    question = ""
    for i, h in enumerate(top):
        question = h.strip() or question  # the question stands only above its first column
        below = sub[i].strip() if i < len(sub) else ""
        key = norm_header(h) if h.strip() else ""
        role = "submitted" if key == "end date" else "metadata" if key in METADATA else "question"
        if below.lower() in {"", "response", "open-ended response"}:
            texts, label = [question], question
        else:
            texts, label = [f"{question} [{below}]", below, question], f"{question} [{below}]"
        cols.append(Column(i, label, texts, role))
    if not any(c.role == "submitted" for c in cols):
        raise AdapterError(f"{path}: no 'End Date' column; export 'All individual responses'")
    start = first + (2 if has_sub else 1)
    return SurveyTable(cols, [r for r in rows[start:] if not r.blank()], program_zone(config),
                       notes=notes, response_id_header="respondent id")


FORMAT = Format(
    name="surveymonkey",
    title="SurveyMonkey responses",
    kind="survey_responses",
    how_to_export="Analyze Results > Save as > Export file > All individual responses > CSV (Expanded).",
    description="Two header rows: question (filled forward) over Response / Open-Ended Response / "
        "option or matrix-row label.",
    signatures=(Signature(first_row=frozenset({"respondent id", "collector id"})),),
    read=read_surveymonkey,
)
