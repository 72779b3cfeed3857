"""The state store: what people write through Hearth, kept beside the warehouse.

The warehouse has one writer (the pipelines) and DuckDB lets nobody else write while a load holds
its lock. What people write while using Hearth (the audit log, action plans, quarterly sign-offs)
must never wait for a load, so it lives in a small SQLite file in WAL mode next to the warehouse:
readers never block the writer, and each write is one short transaction.

Migrations work as the warehouse's do: numbered SQL files in hearth/state_migrations, each applied
once and recorded in the `migrations` table.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hearth.warehouse import db_path, migrations

BUSY_TIMEOUT_MS = 5000  # a second writer waits this long for the first before giving up


def state_path(db: str | os.PathLike | None = None) -> Path:
    """hearth.duckdb -> hearth.state.sqlite, in the same folder (back them up together)."""
    p = db_path(db)
    return p.with_name(p.stem + ".state.sqlite")


def migrate(con: sqlite3.Connection) -> list[int]:
    """Apply the state migrations not yet recorded; returns the versions applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {v for (v,) in con.execute("SELECT version FROM migrations")}
    applied = []
    for version, name, sql in migrations("state_migrations"):
        if version in done:
            continue
        with con:  # one transaction per migration: applied and recorded together, or neither
            for statement in sql.split(";\n"):
                if statement.strip():
                    con.execute(statement)
            con.execute("INSERT INTO migrations VALUES (?, ?, ?)", [version, name, _now()])
        applied.append(version)
    return applied


def open_state(db: str | os.PathLike | None = None) -> sqlite3.Connection:
    """The state store beside the warehouse `db`, created and migrated on first use.

    Rows come back as sqlite3.Row (by name and by index). Use `with con:` around writes."""
    path = state_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level="DEFERRED")
    if fresh:
        os.chmod(path, 0o600)  # who uploaded what, and who decided what, is the steward's
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    migrate(con)
    return con


@contextmanager
def state(db: str | os.PathLike | None = None) -> Iterator[sqlite3.Connection]:
    """`with state(db) as con:` - open, use, close."""
    con = open_state(db)
    try:
        yield con
    finally:
        con.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record(con: sqlite3.Connection, actor: str, action: str, subject: str | None = None,
           **detail: Any) -> int:
    """Add one event to the audit log (in its own transaction); returns its event id."""
    with con:
        cur = con.execute(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
            [_now(), actor, action, subject, json.dumps(detail, default=str, sort_keys=True)],
        )
    return int(cur.lastrowid)


def events(con: sqlite3.Connection, action: str | None = None, limit: int = 200) -> list[dict]:
    """The newest events first (optionally one action's), detail decoded."""
    where, params = ("WHERE action = ?", [action]) if action else ("", [])
    rows = con.execute(
        f"SELECT event_id, at, actor, action, subject, detail FROM audit_log {where} "
        "ORDER BY event_id DESC LIMIT ?", [*params, limit],
    ).fetchall()
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]
