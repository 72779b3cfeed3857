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
        frame = pd.read_excel(path, engine="calamine", header=None, dtype=object)
    except Exception as exc:  # a damaged workbook: say so rather than show a traceback
        raise AdapterError(f"{path}: cannot read this .xlsx ({exc}); download it again") from None
    if frame.empty:
        raise AdapterError(f"{path}: the workbook is empty")
    header = [cell_text(v) for v in frame.iloc[0].tolist()]
    rows = [Row(1, header)]
    raw_times: list[object] = []
    keys = [norm_header(h) for h in header]
    if "completion time" not in keys:
        raise AdapterError(f"{path}: no 'Completion time' column; use Open results in Excel")
    done = keys.index("completion time")
    for n, values in enumerate(frame.iloc[1:].itertuples(index=False), start=2):
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
