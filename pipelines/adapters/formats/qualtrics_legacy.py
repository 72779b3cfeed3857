"""Qualtrics responses, legacy export (before 2017): column ids V1…V10, Q1… over the texts.

Two header rows: ids (`V1,…,V10,Q1_1,…,LocationLatitude`) over their meaning (`ResponseID,
ResponseSet,Name,ExternalDataReference,EmailAddress,IPAddress,Status,StartDate,EndDate,
Finished`, then the question texts). There is no ImportId row and no time zone: times are read
in program.time_zone. Matrix items read 'Question-Statement'.
"""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.base import AdapterError, Format, Signature, header_words
from pipelines.adapters.common import norm_header, read_file_rows
from pipelines.adapters.surveys import METADATA, Column, SurveyTable, header_index, program_zone

V_COLUMNS = frozenset(f"v{n}" for n in range(1, 11))


def read_qualtrics_legacy(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    rows = rows[header_index(path, rows, set(V_COLUMNS), "legacy Qualtrics"):]
    if len(rows) < 2:
        raise AdapterError(f"{path}: a legacy Qualtrics export has two header rows; this has "
                           "fewer (cut short?), so nothing was loaded; download the export "
                           "again from Qualtrics")
    ids, texts = rows[0].cells, rows[1].cells
    cols = []
    for i, col_id in enumerate(ids):
        text = texts[i].strip() if i < len(texts) else ""
        # V1…V10 say nothing: their meaning is the text below. Questions keep their id too, so
        # [survey.aliases] can name them by it.
        meaning = text or col_id
        key = norm_header(meaning)
        role = ("submitted" if key == "enddate"
                else "metadata" if key in METADATA | {"responseset"} else "question")
        candidates = [meaning, col_id]
        if " - " in text:
            candidates.append(text.rsplit(" - ", 1)[1])
        elif "-" in text:
            candidates.append(text.split("-", 1)[1])
        cols.append(Column(i, meaning, candidates, role))
    header = [norm_header(c.label) for c in cols]
    t = SurveyTable(cols, [r for r in rows[2:] if not r.blank()], program_zone(config))
    if "finished" in header:
        f = header.index("finished")
        s = header.index("status") if "status" in header else None

        def complete(cells: list[str]) -> bool:
            finished = f < len(cells) and cells[f].strip().lower() in {"1", "true"}
            # Status 1 is a survey preview, 2 a test: not real responses.
            status = cells[s].strip() if s is not None and s < len(cells) else ""
            return finished and status not in {"1", "2"}

        t.complete = complete
        t.incomplete_note = "Finished = 0, or a survey preview / test"
    t.response_id_header = "responseid"
    return t


FORMAT = Format(
    name="qualtrics_legacy",
    title="Qualtrics responses (legacy export)",
    kind="survey_responses",
    how_to_export="Older Qualtrics accounts: View Results > Download Data > CSV (legacy format).",
    description="Ids V1-V10, Q1... over ResponseID, ResponseSet, Name, EmailAddress, IPAddress, "
                "Status, StartDate, EndDate, Finished and the question texts; identifying columns "
                "and LocationLatitude / LocationLongitude dropped.",
    signatures=(Signature(rows=header_words({"responseid", "responseset"}), first_row=V_COLUMNS),),
    read=read_qualtrics_legacy,
)
