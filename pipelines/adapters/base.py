"""What every export format declares, and what every adapter returns.

A format is one module under pipelines/adapters/formats/ holding one `FORMAT = Format(...)`:
its name and help text, the header words that identify it (`signatures`), and its reader. The
registry (pipelines.adapters.registry) collects them; nothing else lists formats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hearth.errors import HearthError

if TYPE_CHECKING:
    import pandas as pd


class AdapterError(HearthError, ValueError):
    """An export that cannot be read; the message names the file, the problem and the fix."""


@dataclass
class Parsed:
    format: str
    kind: str                   # "attendance" or "survey_responses"
    rows_read: int
    sessions: pd.DataFrame | None
    attendance: pd.DataFrame | None
    survey: pd.DataFrame | None
    quarantine: list[tuple[int | None, str | None, str]]
    rows_merged: int = 0
    rows_excluded: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Survey line -> the tool's own response id. Never stored as it is: ingest keeps only a
    # keyed hash of it (hearth.warehouse.warehouse_secret) as the response's identity.
    response_ids: dict[int, str] = field(default_factory=dict)

    def _frame(self) -> pd.DataFrame | None:
        return self.attendance if self.kind == "attendance" else self.survey

    @property
    def rows_quarantined(self) -> int:
        """Source rows turned away whole: quarantine lines that produced no row.

        A survey answer dropped for an unknown label is quarantined while the rest of its
        response loads; its line is in the survey frame, so it is not counted here.
        rows_read = len(frame) + rows_quarantined + rows_excluded + rows_merged.
        """
        frame = self._frame()
        kept = set(frame["line"].tolist()) if frame is not None else set()
        return len({line for line, _, _ in self.quarantine if line not in kept})

    def reconciles(self) -> bool:
        frame = self._frame()
        loaded = len(frame) if frame is not None else 0
        return self.rows_read == (
            loaded + self.rows_quarantined + self.rows_excluded + self.rows_merged
        )


@dataclass(frozen=True)
class Signature:
    """Header words (normalised: lower case, single spaces) that identify a format.

    `rows`: each set must appear whole within one header row among the file's first rows (the
    sets may sit on different rows: Zoom's meeting block above its participant table).
    `first_row`: a set the file's first row must hold (surveys: the first row is the header).
    `first_cell`: what the first row's first cell must be. `first_row_any`: at least one of
    these in the first row.
    The most specific signature that matches wins (the one naming the most header words).
    """

    rows: tuple[frozenset[str], ...] = ()
    first_row: frozenset[str] = frozenset()
    first_cell: str | None = None
    first_row_any: frozenset[str] = frozenset()

    @property
    def weight(self) -> int:
        return (sum(len(s) for s in self.rows) + len(self.first_row)
                + (self.first_cell is not None) + bool(self.first_row_any))

    def matches(self, headers: list[set[str]], first: list[str]) -> bool:
        if not self.weight:
            return False
        if not all(any(words <= h for h in headers) for words in self.rows):
            return False
        row = set(first)
        if not self.first_row <= row:
            return False
        if self.first_cell is not None and (not first or first[0] != self.first_cell):
            return False
        return not self.first_row_any or bool(self.first_row_any & row)


def header_words(*sets: set[str] | frozenset[str] | tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """`rows=` for a Signature from plain sets: header_words({"join time", "leave time"})."""
    return tuple(frozenset(s) for s in sets)


@dataclass(frozen=True)
class Format:
    """One export format: how to recognise it, how to read it, how to tell people about it.

    `read(path, config)` returns what the kind's builder takes: a Meeting for attendance
    (pipelines.adapters.attendance.build_attendance), a SurveyTable for survey responses
    (pipelines.adapters.surveys.build_survey).
    `languages`: the header words of the tool's other interface languages, {language code:
    {localised header: English header}} (normalised); English is always read.
    """

    name: str
    title: str
    kind: str                   # "attendance" or "survey_responses"
    how_to_export: str
    description: str
    signatures: tuple[Signature, ...]
    read: Callable[..., Any]
    container: str = "text"     # "text" (delimited) or "xlsx"
    languages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    variants: tuple[str, ...] = ()  # the shapes of this export it reads, for `hearth formats`

    @property
    def language_codes(self) -> list[str]:
        return ["en", *self.languages]
