"""Quarterly sign-off: the figures of a quarter as the lead signed them, kept in the state store.

The figures are the released review (every survey figure already through the anonymity rule)
and its flags, copied as JSON at the moment of signing, with the newest warehouse load they
include. metrics.followup compares them with today's figures to show what data loaded later
changed. Signing a quarter again keeps the earlier sign-off; the newest one is in force.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hearth.access import Viewer
from hearth.actions import NotAllowed
from hearth.state import _now, record


def save_signoff(con: sqlite3.Connection, viewer: Viewer, quarter: str, figures: dict[str, Any],
                 last_load_id: int | None, note: str = "") -> dict[str, Any]:
    """Keep `figures` as the signed figures of `quarter`; only a lead signs off."""
    if not viewer.is_lead:
        raise NotAllowed("only the program lead signs off a quarter")
    now = _now()
    with con:
        cur = con.execute(
            "INSERT INTO signoffs (quarter, signed_at, signed_by, last_load_id, figures, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [quarter, now, viewer.actor, last_load_id,
             json.dumps(figures, default=str, sort_keys=True), note or ""],
        )
    record(con, viewer.actor, "signoff", quarter, signoff_id=int(cur.lastrowid),
           last_load_id=last_load_id)
    return latest_signoff(con, quarter)


def latest_signoff(con: sqlite3.Connection, quarter: str) -> dict[str, Any] | None:
    """The sign-off in force for `quarter` (figures decoded), or None if it was never signed."""
    row = con.execute(
        "SELECT * FROM signoffs WHERE quarter = ? ORDER BY signoff_id DESC LIMIT 1", [quarter],
    ).fetchone()
    if row is None:
        return None
    return {**dict(row), "figures": json.loads(row["figures"])}


def signed_quarters(con: sqlite3.Connection) -> dict[str, str]:
    """{quarter: when its sign-off in force was signed}, oldest quarter first."""
    rows = con.execute(
        "SELECT quarter, max(signed_at) FROM signoffs GROUP BY quarter ORDER BY quarter"
    ).fetchall()
    return {q: at for q, at in rows}
