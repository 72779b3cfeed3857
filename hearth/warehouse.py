"""The DuckDB warehouse: one connection helper, versioned migrations, and the published snapshots.

DuckDB allows one read-write process and no readers beside it. So the pipelines write to the
warehouse file, and after every successful load or refresh they publish one read-only snapshot
per audience, swapped in atomically with os.replace. The dashboard reads only the snapshot of
its audience: it never holds a lock an ingest would trip over, never sees a half-loaded state,
and cannot read what its audience may not (raw answers, member emails, other audiences' tables).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import duckdb

from hearth.quoting import sql_literal

DEFAULT_DB = "hearth.duckdb"


def db_path(path: str | os.PathLike | None = None) -> Path:
    """--db, then $HEARTH_DB, then ./hearth.duckdb."""
    return Path(path or os.environ.get("HEARTH_DB") or DEFAULT_DB)


#: What each audience's snapshot holds (schema.table), and nothing else: no raw or core table,
#: no survey answers, no emails; member-level tables (the watchlist) only in the coach's. Survey
#: figures in these marts were decided by the release layer (metrics.release). The actions'
#: survey-index tests (of released figures only: metrics.followup) are the lead's and the
#: coaches'; the council reads no follow-up.
AUDIENCE_TABLES: dict[str, tuple[str, ...]] = {
    "council": (
        "marts.groups", "marts.indicators", "marts.survey_units", "marts.participation_funnel",
        "marts.reliability", "marts.retention_curve", "marts.funnel_points", "marts.shrunken",
        "marts.inclusion", "marts.comments", "marts.freshness",
    ),
}
AUDIENCE_TABLES["lead"] = (*AUDIENCE_TABLES["council"], "marts.session_attendance",
                           "marts.flags", "published.load_manifest", "published.quarantine",
                           "marts.load_quarters", "marts.action_survey_tests")
# The coach reads no load manifest, quarantine or per-file quarter counts: what came in, and when,
# is the data steward's (a survey file of one late response is itself about the responses).
AUDIENCE_TABLES["coach"] = (*AUDIENCE_TABLES["council"], "marts.session_attendance",
                            "marts.flags", "marts.action_survey_tests", "marts.watchlist")
AUDIENCES = ("lead", "council", "coach")

#: Page tables: what a dashboard page would otherwise compute from the marts on every first
#: view, computed once per publish from the audience's own snapshot (metrics.pagedata writes
#: them through the `finish` hook of publish; hearth.orchestrate passes it). Derived only from
#: what the snapshot already holds, so they may sit in every audience's snapshot.
PAGE_TABLES = ("pages.built", "pages.quarters", "pages.program", "pages.group_order",
               "pages.group_medians", "pages.attention", "pages.rollup", "pages.going_well",
               "pages.group_counts")
for _audience in AUDIENCES:
    AUDIENCE_TABLES[_audience] = (*AUDIENCE_TABLES[_audience], *PAGE_TABLES)

#: Snapshot tables written sorted, so DuckDB's per-row-group min/max skip every other quarter
#: when a page reads one quarter (a page reads one quarter of 800,000 indicator rows).
PUBLISH_ORDER = {
    "marts.indicators": "quarter, group_id NULLS FIRST, indicator",
    "marts.funnel_points": "quarter, indicator, n",
    "marts.shrunken": "quarter, indicator, rank",
    "marts.survey_units": "quarter, indicator, group_id",
}

#: Columns whose quarantined value the lead may read (to fix the file): codes, ids, dates and
#: numbers. Never a name, an email, a coach, a comment, or a whole unreadable line.
QUARANTINE_VALUE_COLUMNS = (
    "group_id", "member_id", "session_id", "buddy_id", "host_member_id", "survey_id",
    "modality", "language", "time_zone", "cadence_days", "started_on", "cohort", "joined_on",
    "left_on", "role", "tier", "starts_at", "duration_minutes", "captioned", "status",
    "minutes", "checked_in_at", "channel", "submitted_at",
)
#: ... of which ids, shown only when written as an id (a shifted column put a name there:
#: "member Ada Okafor is not in the warehouse")
QUARANTINE_ID_COLUMNS = ("group_id", "member_id", "session_id", "buddy_id", "host_member_id",
                         "survey_id")

#: How the tables that are not marts are published: what came in, never who or what was in it.
#: Guests are counted, not named; a quarantined value is shown only from a column of codes, ids,
#: dates or numbers, with what looks like an email masked (survey files never keep quarantined
#: values at all).
PUBLISHED_QUERIES = {
    # A survey file's notes say what was scrubbed and that responses named no known group, but
    # not how many: one late file's "1 responses named a group the warehouse does not have"
    # would say which unit a held-back response went to (the no-known-group unit, hidden below
    # k), and "1 [name]" that it named someone.
    "published.load_manifest": r"""
        SELECT load_id, file_name, kind, format, loaded_at, rows_read, rows_loaded,
               rows_duplicate, rows_quarantined, dropped_columns, len(guests) AS guests,
               CASE WHEN kind = 'survey_responses'
                    THEN list_transform(notes, lambda n: regexp_replace(regexp_replace(
                        n, '(^|[:,] )\d+ (responses|\[)', '\1\2', 'g'), '^responses named',
                        'some responses named'))
                    ELSE notes END AS notes
        FROM raw.load_manifest""",
    # A quarantined value is shown only from a column that holds codes, ids, dates or numbers
    # (QUARANTINE_VALUE_COLUMNS), an id only when written as one, never two words or an email;
    # a reason quoting a value not shown says "this value" instead. A members.csv line with one
    # field too many was shown whole ("m9999,Wren Calloway,,g01,...,07700 900461"), a bad email
    # as typed ("nova at example dot org"), a name shifted into the group column in its reason
    # ("group Zephyrine Quillfeather is not in the warehouse"), and a quoted value in any reason
    # ("Join time: not a date and time: 'Quentin Marsh'", a column shifted in a meeting export). A guest's reason names no one: "participant 'Zephyrine Quillfeather' matched no
    # member ... (closest roster entry: m0205 (Emily Reid); ..." named the guest and a member.
    "published.quarantine": r"""
        WITH q AS (
            SELECT *, column_name IN (""" + ", ".join(f"'{c}'" for c in QUARANTINE_VALUE_COLUMNS) + r""")
                      AND CASE WHEN column_name IN (""" + ", ".join(f"'{c}'" for c in QUARANTINE_ID_COLUMNS) + r""")
                               THEN regexp_full_match(value, '[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}')
                               ELSE NOT regexp_matches(value, '\pL{2,}\s+\pL{2,}|[@＠]')
                          END AS shown
            FROM raw.quarantine)
        SELECT load_id, file_name, line, column_name,
               regexp_replace(regexp_replace(regexp_replace(
                   CASE WHEN shown IS NOT TRUE AND value IS NOT NULL AND value <> ''
                        THEN replace(reason, value, 'this value') ELSE reason END,
                   'participant [''"].*?[''"] matched no member', 'a participant matched no member'),
                   'closest roster entry: .*?; if that is them', 'a roster entry is close; if that is them'),
                   '''[^'']*''|"[^"]*"', '(a value)', 'g')
               AS reason,
               CASE WHEN shown THEN value END AS value
        FROM q""",
}


#: Tables an audience reads in a narrower form than the warehouse (and a coach) holds them.
#: Member-level views exist only for a coach's own groups: the lead, who reads any coach's day,
#: sees who hosted each session as "Host 1", "Host 2", ... per group (numbered by first session
#: hosted), so the rotation still shows and no member is named.
AUDIENCE_QUERIES = {
    ("lead", "marts.session_attendance"): """
        WITH firsts AS (
            SELECT group_id, host_member_id, min(session_date) AS first_hosted
            FROM marts.session_attendance WHERE host_member_id IS NOT NULL GROUP BY ALL),
        labels AS (
            SELECT group_id, host_member_id, 'Host ' || row_number() OVER (
                PARTITION BY group_id ORDER BY first_hosted, host_member_id) AS host_label
            FROM firsts)
        SELECT s.* REPLACE (CAST(NULL AS VARCHAR) AS host_member_id, l.host_label AS host_name)
        FROM marts.session_attendance s
        LEFT JOIN labels l ON l.group_id = s.group_id AND l.host_member_id = s.host_member_id""",
}


def published_path(path: str | os.PathLike | None = None, audience: str = "lead") -> Path:
    """Where the read-only snapshot of one audience ('lead', 'council' or 'coach') lives."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience {audience!r} is not one of {', '.join(AUDIENCES)}")
    p = db_path(path)
    return p.with_name(f"{p.stem}.{audience}.published.duckdb")


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files created inside are their owner's only (0600) from their first byte, including those
    DuckDB creates itself."""
    old_umask = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old_umask)


def connect(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, creating it and applying pending migrations.

    The warehouse holds members' names and emails and the raw answers, and so do the
    write-ahead log and spill files DuckDB writes beside it as it goes: the process that opens
    it for writing (`hearth`, the dashboard's upload child) creates every file its owner's only
    (0600) from here on, and a warehouse an older Hearth left readable by others is made so."""
    p = db_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.umask(os.umask(0o077) | 0o077)
    con = duckdb.connect(str(p))
    with contextlib.suppress(OSError):  # someone else's file (shared read-write): theirs to set
        if p.stat().st_mode & 0o077:
            os.chmod(p, 0o600)
    con.execute("SET enable_progress_bar = false")  # it would print into --json output
    # The child process that loads uploads runs under a hard memory limit: DuckDB must spill
    # to disk before reaching it instead of failing to allocate (dashboard/ingest_child.py).
    if limit := os.environ.get("HEARTH_DUCKDB_MEMORY_LIMIT"):
        con.execute(f"SET memory_limit = {sql_literal(limit)}")
    migrate(con)
    return con


def migrations(store: str = "migrations") -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with Hearth, in order: the warehouse's
    (hearth/migrations) or the state store's (hearth/state_migrations)."""
    folder = resources.files("hearth") / store
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


def publish(con: duckdb.DuckDBPyConnection, path: str | os.PathLike | None = None,
            finish: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None) -> list[Path]:
    """Write each audience's read-only snapshot from the committed warehouse, atomically.

    Each snapshot is a new DuckDB file holding only its audience's tables
    (:data:`AUDIENCE_TABLES`), written beside the target with mode 0600 and swapped in with
    os.replace: a reader either keeps the previous snapshot open (its file stays valid until
    closed) or opens the new one, never a half-written file. A whole-warehouse copy left by an
    older Hearth is removed.

    ``finish(snapshot_con, audience)``, when given, runs on each written snapshot before it is
    swapped in, with a connection that sees that snapshot alone (the page tables:
    metrics.pagedata.write); it may add only tables of :data:`PAGE_TABLES`.
    """
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall()}
    written = []
    for audience in AUDIENCES:
        target = published_path(path, audience)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        for leftover in (temp, temp.with_name(temp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        with private_files():
            con.execute(f"ATTACH {sql_literal(temp)} AS hearth_snapshot")
        try:
            for table in AUDIENCE_TABLES[audience]:
                schema, _ = table.split(".")
                source = PUBLISHED_QUERIES.get(table)
                if source is None and (audience, table) in AUDIENCE_QUERIES and table in present:
                    source = AUDIENCE_QUERIES[(audience, table)]
                elif source is None:
                    if table not in present:
                        continue
                    source = f"SELECT * FROM {table}"
                    if table in PUBLISH_ORDER:
                        source += f" ORDER BY {PUBLISH_ORDER[table]}"
                elif not {"raw.load_manifest", "raw.quarantine"} <= present:
                    continue
                con.execute(f"CREATE SCHEMA IF NOT EXISTS hearth_snapshot.{schema}")
                con.execute(f"CREATE TABLE hearth_snapshot.{table} AS {source}")
        finally:
            con.execute("DETACH hearth_snapshot")
        if finish is not None:
            with duckdb.connect(str(temp)) as snapshot:
                finish(snapshot, audience)
        os.chmod(temp, 0o600)
        os.replace(temp, target)
        written.append(target)
    legacy = db_path(path).with_name(db_path(path).stem + ".published.duckdb")
    legacy.unlink(missing_ok=True)
    return written


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
