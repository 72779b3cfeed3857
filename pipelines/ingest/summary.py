"""What a load reports: one LoadSummary per file (it always reconciles: rows read =
loaded + duplicates + quarantined), the one error type of ingestion, and the progress hook."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from hearth.errors import HearthError
from pipelines.scrub import (
    PLACEHOLDERS,
)


class IngestError(HearthError):
    """A file that cannot be read at all; the message names the problem and the fix."""



@dataclass

class LoadSummary:
    file: str
    kind: str | None = None
    format: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    answers_quarantined: int = 0  # single survey answers set aside (the response itself loaded)
    scrubbed: dict[str, int] = field(default_factory=dict)  # placeholder kind -> how many replaced
    groups_unknown: int = 0  # responses naming a group the warehouse lacks (stored without one)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    members_changed: int = 0  # known members whose roster fields a members file changed
    load_id: int | None = None
    already_loaded: str | None = None  # when the same bytes were loaded before: when
    error: str | None = None

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_duplicate + self.rows_quarantined

    def privacy_notes(self) -> list[str]:
        """What was kept out of the warehouse, as counts (never the values themselves)."""
        notes = []
        if self.scrubbed:
            counts = ", ".join(f"{n} {PLACEHOLDERS[kind]}" for kind, n in self.scrubbed.items())
            notes.append(f"comments scrubbed before storage: {counts}")
        if self.groups_unknown:
            notes.append(
                f"{self.groups_unknown} responses named a group the warehouse does not have; "
                "stored as no known group (load the groups file first, or map the answer with "
                "[meetings] in hearth.toml)"
            )
        return notes

    def as_dict(self) -> dict:
        return asdict(self) | {"reconciles": self.reconciles}



class LoadProgress(Protocol):
    """Told when each file's load starts and ends (for progress on a terminal)."""

    def started(self, path: Path, number: int, total: int) -> None: ...

    def finished(self, summary: LoadSummary) -> None: ...
