"""Google Forms responses: Timestamp first, question texts as headers."""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.base import Format, Signature
from pipelines.adapters.common import read_file_rows
from pipelines.adapters.surveys import (
    SurveyTable,
    simple_table,
)


def read_google_forms(path: Path, config: Config) -> SurveyTable:
    rows, _ = read_file_rows(path)
    return simple_table(path, rows, "timestamp", config)


FORMAT = Format(
    name="google_forms",
    title="Google Forms responses",
    kind="survey_responses",
    how_to_export="Form > Responses > the three dots > Download responses (.csv).",
    description="Timestamp with zone (EST, GMT+5:30), optional Email Address, question text headers, "
        "grids as 'Question [Row]'.",
    signatures=(Signature(first_cell="timestamp"),),
    read=read_google_forms,
)
