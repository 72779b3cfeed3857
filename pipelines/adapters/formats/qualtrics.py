"""Qualtrics responses: three header rows (ids, question texts, ImportId JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hearth.config import Config
from pipelines.adapters.base import Format, Signature
from pipelines.adapters.common import norm_header, read_file_rows
from pipelines.adapters.surveys import (
    METADATA,
    Column,
    SurveyTable,
    header_index,
    is_response,
    program_zone,
)


def read_qualtrics(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    first = header_index(path, rows, {"startdate", "enddate"}, "Qualtrics")
    ids = rows[first].cells
    keys = [norm_header(h) for h in ids]
    times = [i for i, k in enumerate(keys) if k in {"startdate", "enddate", "recordeddate"}]
    response_ids = [i for i, k in enumerate(keys) if k in {"responseid", "_recordid"}]
    # Up to two more header rows, each recognised by content (question texts; the ImportId
    # JSON row), never by position: a response in their place is data.
    texts: list[str] = []
    imports: list[str] = []
    start = first + 1
    while start < len(rows) and start <= first + 2 and not is_response(
        rows[start].cells, times, response_ids
    ):
        cells = rows[start].cells
        if any(c.strip().startswith("{") and "importid" in c.lower() for c in cells):
            imports = cells
        else:
            texts = cells
        start += 1
    zone = program_zone(config)
    zone_note = ""
    for meta in imports:
        try:
            info = json.loads(meta)
        except ValueError:
            continue
        if isinstance(info, dict) and info.get("timeZone"):
            try:
                zone = ZoneInfo(str(info["timeZone"]))
                zone_note = f"times read in {info['timeZone']} (named in the export's third row)"
            except (ZoneInfoNotFoundError, ValueError):
                pass
            break
    header = [norm_header(h) for h in ids]
    submitted = "recordeddate" if "recordeddate" in header else "enddate"
    cols = []
    for i, col_id in enumerate(ids):
        key = norm_header(col_id)
        text = texts[i] if i < len(texts) else ""
        if key == submitted:
            role = "submitted"
        elif key in METADATA or key.endswith("_do"):  # _DO: the order options were shown in
            role = "metadata"
        else:
            role = "question"
        candidates = [col_id, text]
        if " - " in text:
            candidates.append(text.rsplit(" - ", 1)[1])
        cols.append(Column(i, col_id, candidates, role))
    t = SurveyTable(cols, [r for r in rows[start:] if not r.blank()], zone, zone_note=zone_note)
    if "finished" in header:
        f = header.index("finished")
        s = header.index("status") if "status" in header else None

        def complete(cells: list[str]) -> bool:
            finished = f < len(cells) and cells[f].strip().lower() in {"true", "1"}
            # Status "Survey Preview" / "Survey Test" (or 1 / 2 in numeric exports): not real.
            status = cells[s].strip().lower() if s is not None and s < len(cells) else ""
            return finished and status not in {"survey preview", "survey test", "1", "2"}

        t.complete = complete
        t.incomplete_note = "Finished = False, or a survey preview / test"
    t.response_id_header = "responseid"
    return t


FORMAT = Format(
    name="qualtrics",
    title="Qualtrics responses",
    kind="survey_responses",
    how_to_export="Data & Analysis > Export & Import > Export data > CSV (choice text).",
    description="Three header rows (ids, question texts, ImportId JSON with the time zone); Finished = "
        "False responses are incomplete.",
    signatures=(Signature(first_row=frozenset({"startdate", "enddate", "finished", "responseid"})),),
    read=read_qualtrics,
)
