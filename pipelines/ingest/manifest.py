"""Stage 4, the manifest: one row per file loaded (what it was, what became of its rows), and
the instrument the answers were scored with."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hearth.instrument import Instrument
from pipelines.ingest.discover import Plan
from pipelines.ingest.summary import LoadSummary


def write_manifest(con, summary: LoadSummary, digest: str, plan: Plan) -> None:
    con.execute(
        "INSERT INTO raw.load_manifest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            summary.load_id, plan.path.name, str(plan.path.resolve()), digest, summary.kind,
            summary.format, datetime.now(UTC), summary.rows_read, summary.rows_loaded,
            summary.rows_duplicate, summary.rows_quarantined, summary.dropped_columns,
            summary.guests, summary.notes + summary.privacy_notes(),
        ],
    )



def write_instrument(con, instrument: Instrument) -> None:
    """Keep core.instrument_items in step with the instrument in use (rewritten only when it
    differs: every load calls this, and the rewrite costs ~25 ms where the read costs ~1)."""
    rows = [
        (i.item_id, i.construct, i.position, i.text, i.scale_min, i.scale_max, i.reverse_keyed, i.label_map)
        for i in instrument.items
    ]
    held = con.execute("SELECT * FROM core.instrument_items").fetchall()
    if Counter(held) == Counter(rows):
        return
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM core.instrument_items")
    con.executemany("INSERT INTO core.instrument_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("COMMIT")
