"""Google Forms responses: Timestamp first, question texts as headers."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.base import Format, Signature
from pipelines.adapters.common import Row, norm_header, read_file_rows, table_start
from pipelines.adapters.surveys import (
    SurveyTable,
    simple_table,
)

# The first column's name in the form owner's language (the answers' headers are the questions
# as written; an email column in any of these languages is dropped by pipelines.scrub).
TIMESTAMP = {
    "timestamp": "en", "marca temporal": "es", "horodateur": "fr", "zeitstempel": "de",
    "carimbo de data/hora": "pt", "informazioni cronologiche": "it", "tijdstempel": "nl",
}


def read_google_forms(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    start = table_start(rows)
    if start < len(rows) and rows[start].cells and norm_header(rows[start].cells[0]) in TIMESTAMP:
        header = rows[start]
        rows[start] = Row(header.line, ["Timestamp", *header.cells[1:]])
    return simple_table(path, rows, "timestamp", config)


FORMAT = Format(
    name="google_forms",
    title="Google Forms responses",
    kind="survey_responses",
    how_to_export="Form > Responses > the three dots > Download responses (.csv).",
    description="Timestamp with zone (EST, GMT+5:30), optional Email Address, question text headers, "
        "grids as 'Question [Row]'.",
    signatures=tuple(Signature(first_cell=word) for word in TIMESTAMP),
    read=read_google_forms,
    variants=("the Timestamp column named in the form owner's language (Marca temporal, "
              "Horodateur, Zeitstempel, Carimbo de data/hora, Informazioni cronologiche, "
              "Tijdstempel)",),
)
