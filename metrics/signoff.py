"""Quarterly sign-off: keep the released figures as signed, and show what changed since.

sign_off copies the quarter's review (api.review: every survey figure already through the
anonymity rule) and its flags into the state store (hearth.signoffs) with the newest warehouse
load it includes. since_signoff compares them with today's figures: the files loaded after the
sign-off that hold rows of the signed quarter (late data), and every figure whose value, n or
status is no longer what was signed.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import duckdb

from hearth import signoffs
from hearth.access import Viewer
from hearth.config import Config
from metrics import api
from metrics.definitions import BY_KEY, REVIEW_KEYS
from metrics.presentation import format_figure


def _manifest(con: duckdb.DuckDBPyConnection) -> str | None:
    """The load manifest this connection can read: the warehouse's, or the copy a lead's
    published snapshot holds (the council's holds none)."""
    tables = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall()}
    for name in ("raw.load_manifest", "published.load_manifest"):
        if name in tables and "marts.load_quarters" in tables:
            return name
    return None


def _last_load_id(con: duckdb.DuckDBPyConnection) -> int | None:
    manifest = _manifest(con)
    if manifest is None:
        return None
    (found,) = con.execute(f"SELECT max(load_id) FROM {manifest}").fetchall()[0]
    return None if found is None else int(found)


def sign_off(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection, viewer: Viewer,
             config: Config, quarter: str | None = None, note: str = "") -> dict[str, Any]:
    """Sign off `quarter` (default: the latest with data) as `viewer` (a lead)."""
    q = api.resolve_quarter(con, quarter)
    figures = {"review": api.review(con, q, config), "flags": api.flags_records(con, q)}
    return signoffs.save_signoff(state_con, viewer, q, figures, _last_load_id(con), note)


def late_loads(con: duckdb.DuckDBPyConnection, quarter: str, after_load_id: int | None
               ) -> list[dict[str, Any]]:
    """Files loaded after load `after_load_id` that hold rows of `quarter`, with how many
    (marts.load_quarters); none where the connection has no manifest (the council's)."""
    manifest = _manifest(con)
    if after_load_id is None or manifest is None:
        return []
    rows = con.execute(
        f"""
        SELECT m.load_id, m.file_name, m.kind, m.loaded_at, l.rows AS rows_in_quarter
        FROM marts.load_quarters l JOIN {manifest} m USING (load_id)
        WHERE l.quarter = $q AND m.load_id > $after
        ORDER BY m.load_id
        """, {"q": quarter, "after": after_load_id},
    ).fetchall()
    return [{"load_id": int(i), "file_name": f, "kind": k, "loaded_at": str(at),
             "rows_in_quarter": int(n)} for i, f, k, at, n in rows]


def _differences(signed: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    units = [("program", signed["program"]["indicators"], now["program"]["indicators"])]
    for gid, group in signed["groups"].items():
        current = now["groups"].get(gid, {}).get("indicators", {})
        units.append((gid, group["indicators"], current))
    for gid in now["groups"].keys() - signed["groups"].keys():
        units.append((gid, {}, now["groups"][gid]["indicators"]))
    out = []
    for unit, before, after in units:
        for key in REVIEW_KEYS:
            a, b = before.get(key), after.get(key)
            same = a is not None and b is not None and all(
                (round(a[f], 6) if isinstance(a[f], float) else a[f])
                == (round(b[f], 6) if isinstance(b[f], float) else b[f])
                for f in ("value", "n", "status"))
            if same:
                continue
            out.append({"unit": unit, "indicator": key, "title": BY_KEY[key].title,
                        "signed": format_figure(key, a, False) if a else "not in the review",
                        "now": format_figure(key, b, False) if b else "not in the review"})
    return out


def since_signoff(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection,
                  config: Config, quarter: str) -> dict[str, Any] | None:
    """What changed in a signed quarter since its sign-off; None when it was never signed.

    {quarter, signed_at, signed_by, late_loads: [...], changes: [{unit, indicator, title,
    signed, now}], flags_added, flags_cleared}."""
    signed = signoffs.latest_signoff(state_con, quarter)
    if signed is None:
        return None
    now = api.review(con, quarter, config)
    then_flags = {(f["group_id"], f["flag"]) for f in signed["figures"]["flags"]}
    now_flags = {(f["group_id"], f["flag"]) for f in api.flags_records(con, quarter)}
    return {
        "quarter": quarter, "signed_at": signed["signed_at"], "signed_by": signed["signed_by"],
        "note": signed["note"],
        "late_loads": late_loads(con, quarter, signed["last_load_id"]),
        "changes": _differences(signed["figures"]["review"], now),
        "flags_added": sorted(now_flags - then_flags),
        "flags_cleared": sorted(then_flags - now_flags),
    }
