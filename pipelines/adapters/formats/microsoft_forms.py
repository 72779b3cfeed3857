"""Microsoft Forms responses (.xlsx): ID, Start time, Completion time, Email, Name, questions."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.base import AdapterError, Format, Signature
from pipelines.adapters.common import Row, norm_header
from pipelines.adapters.surveys import (
    SurveyTable,
    cell_text,
    simple_table,
)


def read_microsoft_forms(path: Path, config: Config) -> SurveyTable:
    import pandas as pd  # deferred: `hearth formats` lists the registry without loading a file

    try:
        sheets = pd.read_excel(path, engine="calamine", header=None, dtype=object, sheet_name=None)
    except Exception as exc:  # a damaged workbook: say so rather than show a traceback
        raise AdapterError(f"{path}: cannot read this .xlsx ({exc}); download it again") from None
    if all(frame.empty for frame in sheets.values()):
        raise AdapterError(f"{path}: the workbook is empty; use Open results in Excel on the form "
                           "and save the workbook it opens")
    # The responses' sheet: the first whose header (within its first rows) names Completion
    # time. Another sheet before it (notes, an empty one) or a title above it is skipped.
    found = next(((frame, i) for frame in sheets.values() for i in range(min(10, len(frame)))
                  if "completion time" in {norm_header(cell_text(v)) for v in frame.iloc[i]}),
                 None)
    if found is None:
        raise AdapterError(f"{path}: no sheet has a 'Completion time' column (sheets: "
                           f"{', '.join(map(str, sheets))}); use Open results in Excel on the form")
    frame, at = found
    header = [cell_text(v) for v in frame.iloc[at].tolist()]
    rows = [Row(at + 1, header)]
    raw_times: list[object] = []
    keys = [norm_header(h) for h in header]
    done = keys.index("completion time")
    for n, values in enumerate(frame.iloc[at + 1:].itertuples(index=False), start=at + 2):
        cells = [cell_text(v) for v in values]
        if not any(cells):
            continue
        rows.append(Row(n, cells))
        raw_times.append(values[done])
    t = simple_table(path, rows, "completion time", config)
    t.raw_times = raw_times
    t.response_id_header = "id"
    return t


FORMAT = Format(
    name="microsoft_forms",
    title="Microsoft Forms responses (.xlsx)",
    kind="survey_responses",
    how_to_export="Form > Responses > Open results in Excel (save the .xlsx).",
    description="ID, Start time, Completion time, Email ('anonymous'), Name, then question columns.",
    signatures=(Signature(first_row=frozenset({"id", "start time", "completion time"})),),
    read=read_microsoft_forms,
    container="xlsx",
)
