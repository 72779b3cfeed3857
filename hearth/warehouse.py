"""The DuckDB warehouse: one connection helper, versioned migrations, and the published snapshot.

DuckDB allows one read-write process and no readers beside it. So the pipelines write to the
warehouse file, and after every successful load or refresh they publish a read-only copy of
what the dashboard needs, swapped in atomically with os.replace. The dashboard reads only that
copy: it never holds a lock an ingest would trip over, and never sees a half-loaded state.
"""

from __future__ import annotations

import os
import secrets
import shutil
from importlib import resources
from pathlib import Path

import duckdb

from hearth.quoting import sql_literal

DEFAULT_DB = "hearth.duckdb"


def db_path(path: str | os.PathLike | None = None) -> Path:
    """--db, then $HEARTH_DB, then ./hearth.duckdb."""
    return Path(path or os.environ.get("HEARTH_DB") or DEFAULT_DB)


def published_path(path: str | os.PathLike | None = None) -> Path:
    """Where the dashboard's read-only snapshot of the warehouse lives."""
    p = db_path(path)
    return p.with_name(p.stem + ".published.duckdb")


def connect(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, creating it and applying pending migrations."""
    p = db_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(p))
    con.execute("SET enable_progress_bar = false")  # it would print into --json output
    # The child process that loads uploads runs under a hard memory limit: DuckDB must spill
    # to disk before reaching it instead of failing to allocate (dashboard/ingest_child.py).
    if limit := os.environ.get("HEARTH_DUCKDB_MEMORY_LIMIT"):
        con.execute(f"SET memory_limit = {sql_literal(limit)}")
    migrate(con)
    return con


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with Hearth, in order."""
    folder = resources.files("hearth") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append((int(version), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations not yet recorded in raw.migrations; returns the versions applied."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    done = {v for (v,) in con.execute("SELECT version FROM raw.migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO raw.migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def publish(con: duckdb.DuckDBPyConnection, path: str | os.PathLike | None = None) -> Path:
    """Copy the committed warehouse to the read-only snapshot the dashboard reads, atomically.

    After CHECKPOINT the file holds every committed change and nothing else, and this process is
    the only writer, so a byte copy is a consistent snapshot. It is written beside the target and
    swapped in with os.replace: a reader either keeps the previous snapshot open (its file stays
    valid until closed) or opens the new one, never a half-written file.
    """
    source = db_path(path)
    target = published_path(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con.execute("CHECKPOINT")
    shutil.copyfile(source, temp)
    os.replace(temp, target)
    return target


def warehouse_secret(con: duckdb.DuckDBPyConnection) -> bytes:
    """This warehouse's own secret key, for keyed hashes (HMAC) of survey tools' response ids.

    Kept in a file beside the warehouse (`hearth.duckdb.key`, readable by its owner only), never
    inside it: the published snapshot is a copy of the warehouse file, so a key stored in it
    would travel to every reader, who could then test a guessed response id against the hashes.
    Losing the file means re-exports are no longer recognised by their response ids (their
    responses would load again); back it up with the warehouse. An in-memory warehouse gets a
    key for this process only.
    """
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    row = rows[0] if rows else None
    if not row or not row[0]:
        return _PROCESS_SECRET
    key = Path(f"{row[0]}.key")
    try:
        return bytes.fromhex(key.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    secret = secrets.token_bytes(32)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret.hex() + "\n")
    return secret


_PROCESS_SECRET = secrets.token_bytes(32)
