"""`hearth ingest`: files in, warehouse out — validated, idempotent, nothing lost.

For every file: detect what it is (a canonical entity from its header, or a tool export from its
content), hash it (the same bytes twice add nothing), then in ONE transaction stage the rows in
DuckDB, run the entity's checks (compiled from its pandera model), send failing rows to
raw.quarantine with line, column and reason, insert the rest unless their natural key is already
loaded (those count as duplicates), and write the manifest row. A crash or kill before COMMIT
leaves the warehouse exactly as it was. Every summary reconciles:
rows read = loaded + duplicates + quarantined.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from hearth.config import Config, load_config
from hearth.errors import HearthError
from hearth.instrument import Instrument, load_instrument
from hearth.warehouse import connect, warehouse_secret
from pipelines.schemas import (
    ENTITIES,
    LOAD_ORDER,
    required_columns,
    schema_of,
    sql_checks,
    sql_identifier,
    sql_literal,
)
from pipelines.scrub import (
    PLACEHOLDERS,
    Scrubber,
    identifying_question,
    looks_like_a_value,
    phone_region,
)
from pipelines.workbook_check import WorkbookError, check_workbook

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


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


# --- reading and recognising files ------------------------------------------------------------

def expand(paths: list[str | Path]) -> list[Path]:
    """Files named directly, plus the data files inside named folders (recursively, sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
                and p.name.lower() != "readme.txt"
            )
        else:
            files.append(path)
    return files


def file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 23):
            digest.update(chunk)
    return digest.hexdigest()


def read_head(path: Path, size: int = 1 << 20) -> bytes:
    if not path.exists():
        raise IngestError("file not found; check the path")
    if not path.is_file():
        raise IngestError("not a file; name a file or a folder of files")
    with path.open("rb") as fh:
        head = fh.read(size)
    if not head.strip():
        raise IngestError("file is empty; export it again from the source")
    return head


def decode_head(head: bytes) -> str:
    """The first part of a canonical file as text, or a clear reason why it is not UTF-8 text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError("file is UTF-16 text, which canonical files are not; save it as 'CSV UTF-8'")
    if b"\x00" in head[:8192]:
        raise IngestError("file is binary, not a CSV; export it as CSV (comma-separated values)")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a multi-byte character cut by the read, not a bad byte
            return head[: exc.start].decode("utf-8-sig")
        raise IngestError(
            f"file is not UTF-8 (byte {exc.start}: {head[exc.start:exc.start + 1]!r}; it looks like "
            "Windows-1252 / Latin-1); re-save it as 'CSV UTF-8' and ingest again"
        ) from None


def header_of(text: str) -> list[str]:
    first = text.splitlines()[0] if text.splitlines() else ""
    if "\t" in first and "," not in first:
        raise IngestError("file is tab-separated; canonical files use commas (save as CSV)")
    return [c.strip() for c in next(csv.reader(io.StringIO(first)), [])]


def detect_kind(columns: list[str], path: Path, instrument: Instrument) -> str:
    """Which canonical entity a header describes: the one whose required columns it best covers."""
    present = {c.lower() for c in columns}
    best, best_share = None, 0.0
    for kind in LOAD_ORDER:
        required = required_columns(kind, instrument)
        share = len(present & set(required)) / len(required)
        if kind == "survey_responses" and not present & set(instrument.item_ids):
            share = min(share, 0.5)
        if share > best_share or (share == best_share and path.stem.lower() == kind):
            best, best_share = kind, share
    if best is None or best_share < 0.5:
        raise IngestError(
            "header matches no canonical file (groups, members, sessions, attendance, "
            "buddy_checkins, survey_responses) and no tool export Hearth knows; see docs/formats.md, "
            "`hearth formats`, or force one with --kind / --format"
        )
    return best


# --- the load -------------------------------------------------------------------------------

class LoadProgress(Protocol):
    """Told when each file's load starts and ends (for progress on a terminal)."""

    def started(self, path: Path, number: int, total: int) -> None: ...

    def finished(self, summary: LoadSummary) -> None: ...


def ingest_paths(
    paths: list[str | Path],
    db: str | Path | None = None,
    config: Config | None = None,
    kind: str | None = None,
    fmt: str | None = None,
    progress: LoadProgress | None = None,
) -> list[LoadSummary]:
    """Load files and folders into the warehouse; one summary per file, in load order.

    `progress` hears when each file starts and ends (the CLI shows long loads on a terminal).

    Only the load: rebuilding the indicators and publishing is hearth.orchestrate's job."""
    config = config or load_config()
    instrument = load_instrument(config)
    if kind and kind not in ENTITIES:
        raise HearthError(f"--kind {kind!r} is not a canonical entity; use one of {', '.join(ENTITIES)}")
    files = expand(paths)
    con = connect(db)
    try:
        write_instrument(con, instrument)
        plans = [_plan(path, instrument, kind, fmt) for path in files]
        plans.sort(key=lambda plan: plan.order)
        summaries = []
        for number, plan in enumerate(plans, start=1):
            if progress is not None:
                progress.started(plan.path, number, len(plans))
            summaries.append(_load(con, plan, config, instrument))
            if progress is not None:
                progress.finished(summaries[-1])
        return summaries
    finally:
        con.close()


@dataclass
class _Plan:
    path: Path
    kind: str | None = None
    fmt: str = "canonical"
    columns: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def order(self) -> int:
        if self.error:
            return -1
        if self.fmt != "canonical":  # exports need the roster and sessions loaded first
            return 100 if self.kind == "attendance" else 101
        return LOAD_ORDER.index(self.kind)


def _refuse_unknown_utf16(head: bytes, path: Path, instrument: Instrument) -> None:
    """A UTF-16 file no export signature matched. Re-saving as UTF-8 helps only a canonical file
    saved by Excel; a Teams report (Teams writes UTF-16) in a layout or language Hearth does not
    read would still not be recognised, so say that instead."""
    text = head.decode("utf-16", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    columns = [c.strip() for c in next(csv.reader(io.StringIO(first.replace("\t", ","))), [])]
    try:
        detect_kind(columns, path, instrument)
    except IngestError:
        raise IngestError(
            "file is UTF-16 text, as Microsoft Teams writes its attendance reports, but its "
            "header rows match no export Hearth reads (`hearth formats` lists the formats and "
            "their interface languages); if it is a Teams report, force it with --format "
            "teams_current, teams_2021 or teams_legacy, or download it again with Teams set to "
            "English"
        ) from None


def _plan(path: Path, instrument: Instrument, kind: str | None, fmt: str | None) -> _Plan:
    """Recognise a file without loading it; problems become the plan's error."""
    plan = _Plan(path)
    try:
        head = read_head(path)
        if head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path):
            check_workbook(path)  # before any spreadsheet reader sizes its grid from the file
        if fmt is None and kind is None:
            from pipelines.adapters import detect_format

            fmt = detect_format(path, head)
        if fmt and fmt != "canonical":
            from pipelines.adapters import FORMATS

            if fmt not in FORMATS:
                raise IngestError(f"--format {fmt!r} is unknown; `hearth formats` lists the supported ones")
            plan.fmt, plan.kind = fmt, FORMATS[fmt].kind
            return plan
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) and kind is None:
            _refuse_unknown_utf16(head, path, instrument)
        plan.columns = header_of(decode_head(head))
        plan.kind = kind or detect_kind(plan.columns, path, instrument)
    except (IngestError, WorkbookError) as exc:
        plan.error = str(exc)
    return plan


def _load(con, plan: _Plan, config: Config, instrument: Instrument) -> LoadSummary:
    summary = LoadSummary(file=str(plan.path), kind=plan.kind, format=plan.fmt)
    if plan.error:
        summary.error = plan.error
        return summary
    digest = file_hash(plan.path)
    seen = con.execute(
        "SELECT load_id, loaded_at FROM raw.load_manifest WHERE content_hash = ?", [digest]
    ).fetchone()
    if seen:
        summary.already_loaded = f"load #{seen[0]} on {seen[1]:%Y-%m-%d %H:%M}"
        return summary
    con.execute("BEGIN TRANSACTION")
    try:
        summary.load_id = con.execute("SELECT nextval('raw.load_id_seq')").fetchone()[0]
        scrubber = _scrubber(con, config) if plan.kind == "survey_responses" else None
        if plan.fmt == "canonical":
            _load_canonical(con, plan, summary, instrument, scrubber)
        else:
            _load_export(con, plan, summary, config, instrument, scrubber)
        _write_manifest(con, summary, digest, plan)
        con.execute("COMMIT")
    except IngestError as exc:
        con.execute("ROLLBACK")
        summary.error = str(exc)
    except duckdb.Error as exc:  # a safety net: a file we failed to foresee still gets one line
        con.execute("ROLLBACK")
        summary.error = f"could not be loaded ({_db_detail(exc, plan.kind)}); nothing from it was stored"
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for table in ("staged", "suspects", "failures", "reject_errors", "reject_scans",
                      "response_keys"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return summary


def _scrubber(con, config: Config) -> Scrubber:
    """Free-text scrubbing for this load: the names of every rostered member and coach."""
    names = [r[0] for r in con.execute(
        "SELECT name FROM core.members UNION SELECT coach FROM core.groups"
    ).fetchall()]
    return Scrubber.for_roster(names, phone_region(config.phone_region, config.time_zone))


def _db_detail(exc: duckdb.Error, kind: str | None) -> str:
    """DuckDB's reason, for the message. Its messages may quote a value ("Could not convert
    string 'ana@...'"); for a survey file, where values are answers, only the kind of error."""
    if kind == "survey_responses":
        return f"{type(exc).__name__.removesuffix('Exception')} while reading its rows"
    return str(exc).splitlines()[0]


def _load_canonical(con, plan: _Plan, summary: LoadSummary, instrument: Instrument,
                    scrubber: Scrubber | None = None) -> None:
    kind = plan.kind
    schema = schema_of(kind, instrument)
    known = set(schema.columns)
    lowered = [c.lower() for c in plan.columns]
    duplicated = sorted({c for c in lowered if lowered.count(c) > 1})
    if duplicated:
        raise IngestError(f"header names {', '.join(duplicated)} more than once; keep one of each")
    missing = [c for c in required_columns(kind, instrument) if c not in lowered]
    if missing:
        raise IngestError(
            f"{kind} file is missing required column(s) {', '.join(missing)}; add them "
            f"(see docs/formats.md, section {kind})"
        )
    dropped: set[str] = set()
    if kind == "survey_responses":
        # Never read into the warehouse (recognised by pipelines.scrub, in every language it
        # knows). A header cell holding an email or a phone number is named by position only.
        dropped = {c for c in plan.columns if c.lower() not in known
                   and (identifying_question(c) or looks_like_a_value(c))}
        summary.dropped_columns = [
            f"column {i + 1}" if looks_like_a_value(c) else c
            for i, c in enumerate(plan.columns) if c in dropped
        ]
    summary.ignored_columns = [
        c for c in plan.columns if c.lower() not in known and c not in dropped
    ]
    keep = [c for c in plan.columns if c.lower() in known]
    types = ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in plan.columns)
    source = (
        f"SELECT {', '.join(f'{sql_identifier(c)} AS {sql_identifier(c.lower())}' for c in keep)} "
        f"FROM read_csv({sql_literal(str(plan.path))}, header = true, auto_detect = false, "
        f"columns = {{{types}}}, delim = ',', quote = '\"', escape = '\"', "
        "store_rejects = true, ignore_errors = true)"
    )
    checks = _checks(kind, schema, set(lowered), instrument)
    try:
        _stage(con, source, kind, set(lowered), instrument, checks)
    except duckdb.Error as exc:
        raise IngestError(
            f"could not be read as CSV ({_db_detail(exc, kind)}); check it is a comma-separated export"
        ) from None
    summary.rows_read = con.execute("SELECT count(*) FROM staged").fetchone()[0] + con.execute(
        "SELECT count(DISTINCT line) FROM reject_errors"
    ).fetchone()[0]
    _find_failures(con, checks, kind == "survey_responses", _line_sql(con))
    _quarantine(con, summary, kind)
    _insert(con, kind, summary, instrument, set(lowered), scrubber)


@dataclass(frozen=True)
class _Check:
    column: str | None
    predicate: str   # holds for a valid row
    reason: str      # SQL expression for the reason
    scope: str       # "row": the row is quarantined; "answer": only that survey answer is


def _checks(kind: str, schema, present: set[str], instrument: Instrument) -> list[_Check]:
    """Every rule for this entity: the pandera model's, then the warehouse references and
    cross-column rules that a column-wise model cannot hold."""
    entity = ENTITIES[kind]
    items = set(instrument.item_ids) if kind == "survey_responses" else set()
    checks = [
        _Check(c.column, c.predicate, sql_literal(c.reason), "answer" if c.column in items else "row")
        for c in sql_checks(schema, present)
    ]
    for column, table, ref in entity.references:
        if column in present:
            noun = table.split(".")[1]
            col = sql_identifier(column)
            checks.append(_Check(
                column,
                f"{col} IS NULL OR {col} IN (SELECT {ref} FROM {table})",
                f"{sql_literal(noun.rstrip('s') + ' ')} || {col} || "
                + sql_literal(f" is not in the warehouse; load its {noun} file first (or in the same run)"),
                "row",
            ))
    checks += [_Check(c, f"({p}) IS NOT FALSE", sql_literal(r), "row") for c, p, r in entity.row_rules if c in present]
    if items:
        answered = [sql_identifier(i) for i in instrument.item_ids if i in present]
        checks.append(_Check(None, f"coalesce({', '.join(answered)}) IS NOT NULL",
                             sql_literal("answers no survey item; nothing to load"), "row"))
    return checks


def _stage(con, source: str, kind: str, present: set[str], instrument: Instrument,
           checks: list[_Check], keep_line: bool = False) -> None:
    """Materialise the rows as text in `staged`, judged in the same pass.

    `ok`: the row passes every row-level rule and may load; `clean`: it also has no bad survey
    answer. One pass over a ten-million-row file does both, so a clean file is read once.
    """
    columns = [c for c in schema_of(kind, instrument).columns if c in present]
    mapped = ", ".join(_answer_sql(c, instrument) if kind == "survey_responses" else sql_identifier(c) + f" AS {sql_identifier(c)}"
                       for c in columns) + (", line" if keep_line else "")
    ok = " AND ".join(f"({c.predicate})" for c in checks if c.scope == "row") or "TRUE"
    answers = " AND ".join(f"({c.predicate})" for c in checks if c.scope == "answer") or "TRUE"
    con.execute(
        f"""CREATE TEMP TABLE staged AS
            SELECT *, ok AND ({answers}) IS TRUE AS clean
            FROM (SELECT *, ({ok}) IS TRUE AS ok FROM (SELECT {mapped} FROM ({source})))"""
    )
    # Optional columns a file leaves out are simply empty.
    for name, column in schema_of(kind, instrument).columns.items():
        if name not in present and not column.required:
            con.execute(f"ALTER TABLE staged ADD COLUMN {sql_identifier(name)} VARCHAR")


def _answer_sql(column: str, instrument: Instrument) -> str:
    """Survey answers may be labels ("Agree"); known labels become their numbers."""
    col = sql_identifier(column)
    if column not in instrument.item_ids:
        return f"{col} AS {col}"
    item = instrument.item(column)
    labels = instrument.labels.get(item.label_map, {})
    if not labels:
        return f"{col} AS {col}"
    cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in labels.items())
    return (f"CASE lower(trim(regexp_replace({col}, '\\s+', ' ', 'g'))) {cases} "
            f"ELSE trim({col}) END AS {col}")


def _line_sql(con) -> str:
    """SQL for a staged row's line in the file.

    Rows are stored in file order, and the rows DuckDB rejected (wrong field count, broken
    quoting, invalid UTF-8) are the gaps. Temporary tables number their rows from an offset,
    hence "rowid - first". Only failing rows ever need their line.
    """
    rejected = [r[0] for r in con.execute("SELECT DISTINCT line FROM reject_errors ORDER BY line").fetchall()]
    first = con.execute("SELECT coalesce(min(rowid), 0) FROM staged").fetchone()[0]
    line = f"(rowid - {first} + 2)"
    if rejected:
        thresholds = ", ".join(str(n - 2 - j) for j, n in enumerate(rejected))
        line = f"({line} + list_count(list_filter([{thresholds}], lambda t: t <= rowid - {first})))"
    return line


def _find_failures(con, checks: list[_Check], survey: bool, line_sql: str) -> None:
    """Every failing (rid, line, column, reason, value, scope) into `failures`.

    Only the rows `_stage` judged unclean are examined rule by rule, so the detail costs
    nothing on a clean file. Survey answers are never copied into the quarantine.
    """
    con.execute(f"CREATE TEMP TABLE suspects AS SELECT rowid AS rid, {line_sql} AS line, * FROM staged WHERE NOT clean")
    parts = [
        # Malformed lines DuckDB could not split into the header's columns.
        "SELECT DISTINCT CAST(NULL AS BIGINT) AS rid, line, CAST(NULL AS VARCHAR) AS column_name, "
        "CASE error_type WHEN 'INVALID ENCODING' THEN 'is not valid UTF-8; re-save the file as CSV UTF-8' "
        "WHEN 'MISSING COLUMNS' THEN 'has too few fields; check for a missing comma' "
        "WHEN 'TOO MANY COLUMNS' THEN 'has too many fields; quote values that contain commas' "
        "ELSE 'could not be parsed (' || lower(error_type) || '); check the quoting on this line' END AS reason, "
        + ("CAST(NULL AS VARCHAR)" if survey else "csv_line") + " AS value, 'row' AS scope FROM reject_errors"
    ]
    for check in checks:
        value = "NULL" if survey or check.column is None else sql_identifier(check.column)
        name = sql_literal(check.column) if check.column else "NULL"
        parts.append(
            f"SELECT rid, line, {name}, {check.reason}, {value}, {sql_literal(check.scope)} "
            f"FROM suspects WHERE ({check.predicate}) IS NOT TRUE"
        )
    con.execute("CREATE TEMP TABLE failures AS " + " UNION ALL ".join(f"({p})" for p in parts))


def _quarantine(con, summary: LoadSummary, kind: str) -> None:
    con.execute(
        "INSERT INTO raw.quarantine SELECT ?, ?, line, column_name, reason, value FROM failures",
        [summary.load_id, Path(summary.file).name],
    )
    summary.rows_quarantined = con.execute(
        "SELECT count(DISTINCT line) FROM failures WHERE scope = 'row'"
    ).fetchone()[0]
    summary.answers_quarantined = con.execute(
        "SELECT count(*) FROM failures WHERE scope = 'answer' AND rid NOT IN "
        "(SELECT rid FROM failures WHERE scope = 'row' AND rid IS NOT NULL)"
    ).fetchone()[0]
    summary.quarantine_reasons = {
        f"{column}: {reason}" if column else reason: n
        for column, reason, n in con.execute(
            "SELECT column_name, reason, count(*) FROM failures GROUP BY ALL ORDER BY 3 DESC, 1, 2"
        ).fetchall()
    }


# Key columns held as text in the staged row that the core tables hold typed: compare typed.
KEY_TYPES = {"joined_on": "DATE", "checked_in_at": "TIMESTAMPTZ"}


def _key_sql(kind: str) -> list[str]:
    """The natural key (Entity.key) as SQL over a staged row `s`, typed like the core table."""
    return [f"CAST(s.{c} AS {KEY_TYPES[c]})" if c in KEY_TYPES else f"s.{c}"
            for c in ENTITIES[kind].key]


_INSERTS = {
    "groups": """
        INSERT INTO core.groups SELECT group_id, name, modality, language, time_zone,
            CAST(cadence_days AS INTEGER), coach, CAST(started_on AS DATE), cohort, $load_id
        FROM valid""",
    # Known members' changes were applied (with history) by _apply_roster_changes first.
    "members": """
        INSERT INTO core.members SELECT member_id, arg_max(name, rid), arg_max(lower(trim(email)), rid), $load_id
        FROM valid WHERE member_id NOT IN (SELECT member_id FROM core.members) GROUP BY member_id;
        INSERT INTO core.memberships SELECT member_id, group_id, CAST(joined_on AS DATE),
            CAST(left_on AS DATE), role, tier, $load_id
        FROM valid""",
    "sessions": """
        INSERT INTO core.sessions SELECT session_id, group_id, CAST(starts_at AS TIMESTAMPTZ),
            CAST(left(starts_at, 10) AS DATE), CAST(duration_minutes AS INTEGER),
            host_member_id, modality, lower(captioned) IN ('true', 'yes', '1'), $load_id
        FROM valid""",
    "attendance": """
        INSERT INTO core.attendance SELECT session_id, member_id, status,
            CAST(minutes AS INTEGER), $load_id
        FROM valid""",
    "buddy_checkins": """
        INSERT INTO core.buddy_checkins SELECT member_id, buddy_id,
            CAST(checked_in_at AS TIMESTAMPTZ), channel, $load_id
        FROM valid""",
}


def _insert(con, kind: str, summary: LoadSummary, instrument: Instrument, present: set[str],
            scrubber: Scrubber | None = None) -> None:
    """Insert rows that passed, skipping natural keys already loaded or repeated in the file."""
    entity = ENTITIES[kind]
    if kind == "survey_responses":
        _insert_survey(con, summary, instrument, present, scrubber or Scrubber())
        return
    changed = _apply_roster_changes(con, summary, present) if kind == "members" else 0
    key_sql = _key_sql(kind)
    matches = " AND ".join(f"t.{col} = {expr}" for col, expr in zip(entity.key, key_sql, strict=True))
    # Keys repeated inside the file: the first valid occurrence loads, the rest are duplicates.
    # Grouping ten million rows by a 64-bit hash of the key needs a fraction of the memory of
    # grouping by the key itself; only keys whose hash repeats are then compared exactly.
    keys = ", ".join(key_sql)
    con.execute(
        f"CREATE TEMP TABLE clashes AS SELECT hash({keys}) AS h FROM staged s WHERE s.ok "
        "GROUP BY h HAVING count(*) > 1"
    )
    con.execute(
        f"""CREATE TEMP TABLE repeats AS
            SELECT {", ".join(f"{expr} AS k{i}" for i, expr in enumerate(key_sql))}, min(s.rowid) AS keep
            FROM staged s WHERE s.ok AND hash({keys}) IN (SELECT h FROM clashes)
            GROUP BY ALL HAVING count(*) > 1"""
    )
    repeated = " AND ".join(f"r.k{i} = {expr}" for i, expr in enumerate(key_sql))
    # Anti-joins against empty tables still cost a pass over every row: leave them out then.
    conditions = ["s.ok"]
    if con.execute(f"SELECT EXISTS (SELECT 1 FROM {entity.table})").fetchone()[0]:
        conditions.append(f"NOT EXISTS (SELECT 1 FROM {entity.table} t WHERE {matches})")
    if con.execute("SELECT EXISTS (SELECT 1 FROM repeats)").fetchone()[0]:
        conditions.append(f"NOT EXISTS (SELECT 1 FROM repeats r WHERE {repeated} AND r.keep <> s.rowid)")
    con.execute(f"CREATE TEMP VIEW valid AS SELECT s.*, s.rowid AS rid FROM staged s "
                f"WHERE {' AND '.join(conditions)}")
    try:
        for statement in _INSERTS[kind].split(";"):
            inserted = con.execute(statement.replace("$load_id", str(summary.load_id))).fetchone()[0]
        # The last statement inserts the entity's own rows; a roster row that changed a known
        # member counts as loaded too (it changed the warehouse, and the pages must refresh).
        summary.rows_loaded = inserted + changed
    finally:
        con.execute("DROP VIEW IF EXISTS valid")
        con.execute("DROP TABLE IF EXISTS repeats")
        con.execute("DROP TABLE IF EXISTS clashes")
    summary.rows_duplicate = summary.rows_read - summary.rows_loaded - summary.rows_quarantined


ROSTER_FIELDS = ("left_on", "role", "tier")  # a membership's own fields, besides its key


def _apply_roster_changes(con, summary: LoadSummary, present: set[str]) -> int:
    """Apply a roster file's changes to known members, keeping every previous value.

    Compared with the warehouse, per member: name and email (an empty email never clears a known
    one); per membership (member, group, joined_on): left_on (only when the file has the column),
    role and tier. A membership that reappears under another group with the same joined_on, while
    the old one is not restated in the file, has moved group; only an unambiguous one-to-one move
    is applied, anything else stays a new membership. Each changed field leaves a row in
    core.member_history; the summary says how many members changed and how. Returns the number of
    file rows, already known by key, that changed something.
    """
    con.execute(
        """CREATE TEMP TABLE roster_in AS
           SELECT rowid AS rid, member_id, name, lower(trim(email)) AS email, group_id,
                  CAST(joined_on AS DATE) AS joined_on, CAST(left_on AS DATE) AS left_on, role, tier
           FROM staged WHERE ok
           QUALIFY row_number() OVER (PARTITION BY member_id, group_id, CAST(joined_on AS DATE)
                                      ORDER BY rowid) = 1"""
    )
    con.execute("CREATE TEMP TABLE roster_changes (rid BIGINT, member_id VARCHAR, field VARCHAR, "
                "old_value VARCHAR, new_value VARCHAR, group_id VARCHAR, joined_on DATE)")
    same = "t.member_id = f.member_id AND t.group_id = f.group_id AND t.joined_on = f.joined_on"
    try:
        con.execute(
            f"""CREATE TEMP TABLE moves AS
                SELECT f.rid, f.member_id, f.joined_on, t.group_id AS old_group, f.group_id AS new_group
                FROM roster_in f JOIN core.memberships t
                  ON t.member_id = f.member_id AND t.joined_on = f.joined_on AND t.group_id <> f.group_id
                WHERE NOT EXISTS (SELECT 1 FROM core.memberships t WHERE {same})
                  AND NOT EXISTS (SELECT 1 FROM roster_in y WHERE y.member_id = t.member_id
                                  AND y.group_id = t.group_id AND y.joined_on = t.joined_on)
                QUALIFY count(*) OVER (PARTITION BY f.member_id, f.joined_on) = 1"""
        )
        con.execute("""INSERT INTO roster_changes SELECT rid, member_id, 'group_id', old_group,
                       new_group, new_group, joined_on FROM moves""")
        con.execute("""UPDATE core.memberships t SET group_id = m.new_group FROM moves m
                       WHERE t.member_id = m.member_id AND t.group_id = m.old_group
                         AND t.joined_on = m.joined_on""")
        for field in ROSTER_FIELDS:
            if field not in present:
                continue
            col = sql_identifier(field)
            con.execute(
                f"""INSERT INTO roster_changes
                    SELECT f.rid, f.member_id, {sql_literal(field)}, CAST(t.{col} AS VARCHAR),
                           CAST(f.{col} AS VARCHAR), f.group_id, f.joined_on
                    FROM roster_in f JOIN core.memberships t ON {same}
                    WHERE t.{col} IS DISTINCT FROM f.{col}"""
            )
        fields = [f for f in ROSTER_FIELDS if f in present]
        if fields:
            con.execute(
                f"""UPDATE core.memberships t
                    SET {", ".join(f"{sql_identifier(f)} = f.{sql_identifier(f)}" for f in fields)}
                    FROM roster_in f WHERE {same}
                      AND f.rid IN (SELECT rid FROM roster_changes WHERE field <> 'group_id')"""
            )
        # A member's own fields: the file's last row for the member speaks for them.
        con.execute(
            """CREATE TEMP TABLE roster_people AS
               SELECT member_id, max(rid) AS rid, arg_max(name, rid) AS name,
                      arg_max(email, rid) FILTER (WHERE email IS NOT NULL) AS email
               FROM roster_in GROUP BY member_id"""
        )
        con.execute("""INSERT INTO roster_changes
                       SELECT f.rid, f.member_id, 'name', m.name, f.name, NULL, NULL
                       FROM roster_people f JOIN core.members m USING (member_id)
                       WHERE m.name IS DISTINCT FROM f.name""")
        con.execute("""INSERT INTO roster_changes
                       SELECT f.rid, f.member_id, 'email', m.email, f.email, NULL, NULL
                       FROM roster_people f JOIN core.members m USING (member_id)
                       WHERE f.email IS NOT NULL AND m.email IS DISTINCT FROM f.email""")
        con.execute("""UPDATE core.members m SET name = f.name, email = coalesce(f.email, m.email)
                       FROM roster_people f WHERE m.member_id = f.member_id
                         AND f.member_id IN (SELECT member_id FROM roster_changes
                                             WHERE field IN ('name', 'email'))""")
        con.execute(
            """INSERT INTO core.member_history SELECT member_id, field, old_value, new_value,
                      group_id, joined_on, ?, now() FROM roster_changes ORDER BY rid, field""",
            [summary.load_id],
        )
        by_field = dict(con.execute(
            "SELECT field, count(DISTINCT member_id) FROM roster_changes GROUP BY field ORDER BY field"
        ).fetchall())
        summary.members_changed = con.execute(
            "SELECT count(DISTINCT member_id) FROM roster_changes").fetchone()[0]
        if summary.members_changed:
            detail = ", ".join(f"{field} {n}" for field, n in by_field.items())
            summary.notes.append(
                f"{summary.members_changed} known member(s) changed ({detail}); previous values "
                "kept in the roster history (core.member_history)"
            )
        # File rows already known by key that changed something (rows with a new key are
        # counted when they are inserted).
        return con.execute(
            f"""SELECT count(DISTINCT c.rid) FROM roster_changes c JOIN roster_in f USING (rid)
                WHERE EXISTS (SELECT 1 FROM core.memberships t WHERE {same})"""
        ).fetchone()[0]
    finally:
        for table in ("roster_in", "roster_changes", "moves", "roster_people"):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _insert_survey(con, summary: LoadSummary, instrument: Instrument, present: set[str],
                   scrubber: Scrubber) -> None:
    items = [i for i in instrument.item_ids if i in present]
    if "comment" in present:
        _scrub_comments(con, summary, scrubber)
    if "group_id" in present:
        _resolve_groups(con, summary)
    # An answer that failed its check is blanked; the rest of the response still counts.
    answer = {
        i: f"""CASE WHEN rowid IN (SELECT rid FROM failures WHERE column_name = {sql_literal(i)})
                    THEN NULL ELSE CAST(trim({sql_identifier(i)}) AS SMALLINT) END""" for i in items
    }
    group = "group_id" if "group_id" in present else "NULL"
    comment = "comment" if "comment" in present else "NULL"
    fingerprint = " || '|' || ".join(
        ["survey_id", "CAST(CAST(submitted_at AS TIMESTAMPTZ) AS VARCHAR)", f"coalesce({group}, '')"]
        + [f"coalesce(CAST({answer[i]} AS VARCHAR), '')" for i in items]
        + [f"coalesce({comment}, '')"]
    )
    # A response's identity: the keyed hash of the tool's own response id where the export has
    # one (response_keys, from _load_export); otherwise its content and how many identical rows
    # came before it in this file. Two people answering alike in the same second are two
    # responses (occurrences 1 and 2), while the same file or a re-export names the same
    # occurrences again and adds nothing. The first occurrence keeps the plain content hash, so
    # warehouses loaded before this rule still recognise their files.
    keyed = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'response_keys' AND temporary"
    ).fetchone()[0]
    key_join = ("LEFT JOIN (SELECT line AS key_line, response_key FROM response_keys) k "
                "ON k.key_line = s.line") if keyed else ""
    key = "k.response_key" if keyed else "NULL"
    con.execute(
        f"""CREATE TEMP TABLE responses AS
            SELECT coalesce(key, CASE WHEN occurrence = 1 THEN content ELSE
                            md5(content || '#' || occurrence) END) AS response_id,
                   * EXCLUDE (key, content, occurrence)
            FROM (
                SELECT {key} AS key, md5({fingerprint}) AS content,
                       row_number() OVER (PARTITION BY md5({fingerprint}), {key} IS NULL
                                          ORDER BY s.rowid) AS occurrence,
                       survey_id, CAST(submitted_at AS TIMESTAMPTZ) AS submitted_at,
                       nullif(trim({group}), '') AS group_id, {comment} AS comment, s.rowid AS rid,
                       {", ".join(f"{answer[i]} AS {sql_identifier(i)}" for i in items)}
                FROM staged s {key_join} WHERE ok
            )
            QUALIFY row_number() OVER (PARTITION BY response_id ORDER BY rid) = 1"""
    )
    try:
        con.execute("DELETE FROM responses WHERE response_id IN (SELECT response_id FROM core.survey_responses)")
        summary.rows_loaded = con.execute("SELECT count(*) FROM responses").fetchone()[0]
        # Answers set aside in responses that did not load (loaded before) are not news.
        summary.answers_quarantined = con.execute(
            "SELECT count(*) FROM failures WHERE scope = 'answer' AND rid IN (SELECT rid FROM responses)"
        ).fetchone()[0]
        con.execute(
            "INSERT INTO core.survey_responses SELECT response_id, survey_id, submitted_at, group_id, "
            f"comment, {summary.load_id} FROM responses"
        )
        quoted = ", ".join(sql_identifier(i) for i in items)
        con.execute(
            f"""INSERT INTO core.survey_answers
                SELECT response_id, item_id, value FROM (
                    UNPIVOT (SELECT response_id, {quoted} FROM responses)
                    ON {quoted} INTO NAME item_id VALUE value)
                WHERE value IS NOT NULL"""
        )
    finally:
        con.execute("DROP TABLE IF EXISTS responses")
    summary.rows_duplicate = summary.rows_read - summary.rows_loaded - summary.rows_quarantined


def _scrub_comments(con, summary: LoadSummary, scrubber: Scrubber) -> None:
    """Replace emails, phones, links and members' names in the comments before they are stored.

    The response fingerprint is taken over the scrubbed text, so no hash of what was removed is
    kept either. Only the counts per placeholder reach the summary and the manifest.
    """
    rows = con.execute(
        "SELECT rowid, comment FROM staged WHERE ok AND comment IS NOT NULL AND trim(comment) <> ''"
    ).fetchall()
    changed: list[tuple[int, str]] = []
    totals = dict.fromkeys(PLACEHOLDERS, 0)
    for rid, text in rows:
        scrubbed, counts = scrubber.scrub(text)
        if counts:
            changed.append((rid, scrubbed))
            for kind, n in counts.items():
                totals[kind] += n
    if changed:
        con.register("scrubbed_comments", pd.DataFrame(changed, columns=["rid", "comment"]))
        try:
            con.execute("UPDATE staged SET comment = c.comment FROM scrubbed_comments c "
                        "WHERE staged.rowid = c.rid")
        finally:
            con.unregister("scrubbed_comments")
    summary.scrubbed = {kind: n for kind, n in totals.items() if n}


def _resolve_groups(con, summary: LoadSummary) -> None:
    """A self-reported group becomes a group id: the id itself, or a group's id or name typed
    differently (case, accents, spacing). Anything else is stored as no known group: free text
    typed into a group question is never kept."""
    named = "SELECT count(*) FROM staged WHERE ok AND nullif(trim(group_id), '') IS NOT NULL"
    before = con.execute(named).fetchone()[0]
    con.execute(
        """UPDATE staged SET group_id = (
               SELECT g.group_id FROM core.groups g
               WHERE g.group_id = trim(staged.group_id)
                  OR lower(g.group_id) = lower(trim(staged.group_id))
                  OR lower(strip_accents(trim(regexp_replace(g.name, '\\s+', ' ', 'g'))))
                     = lower(strip_accents(trim(regexp_replace(staged.group_id, '\\s+', ' ', 'g'))))
               ORDER BY g.group_id = trim(staged.group_id) DESC, g.group_id LIMIT 1)
           WHERE group_id IS NOT NULL AND trim(group_id) <> ''"""
    )
    summary.groups_unknown = before - con.execute(named).fetchone()[0]


def _load_export(con, plan: _Plan, summary: LoadSummary, config: Config, instrument: Instrument,
                 scrubber: Scrubber | None = None) -> None:
    """A meeting or survey tool's export: the adapter makes canonical frames, then the same load."""
    from pipelines.adapters import AdapterError, parse_export

    roster = con.execute(
        """SELECT m.member_id, m.name, m.email, ms.group_id, ms.joined_on, ms.left_on,
                  g.name AS group_name
           FROM core.members m JOIN core.memberships ms USING (member_id)
           LEFT JOIN core.groups g ON g.group_id = ms.group_id"""
    ).df()
    try:
        parsed = parse_export(plan.path, plan.fmt, config, roster, instrument)
    except AdapterError as exc:  # its message may name the file; the summary names it already
        raise IngestError(str(exc).removeprefix(f"{plan.path}: ")) from None
    if parsed.response_ids and parsed.survey is not None:
        _register_response_keys(con, plan.fmt, parsed)
    if parsed.sessions is not None:
        groups = sorted(set(parsed.sessions["group_id"]))
        known = {g for (g,) in con.execute("SELECT group_id FROM core.groups").fetchall()}
        for group in [g for g in groups if g not in known]:
            raise IngestError(
                f"the meeting is mapped to group {group!r} (under [meetings] in "
                f"{config.source or 'hearth.toml'}, or by its title), but no group {group!r} has "
                "been loaded; correct the [meetings] entry to an existing group_id, or ingest a "
                "groups.csv with that group first"
            )
    summary.dropped_columns = list(parsed.dropped_columns)
    summary.guests = list(parsed.guests)
    # (The summary names dropped columns on its own line; don't repeat them as a note.)
    summary.notes = [n for n in parsed.notes if not n.startswith("identifying columns dropped")]
    frames = []
    if parsed.sessions is not None:
        frames.append(("sessions", parsed.sessions))
    if parsed.attendance is not None:
        frames.append(("attendance", parsed.attendance))
    if parsed.survey is not None:
        frames.append(("survey_responses", parsed.survey))
    adapter_rejects = pd.DataFrame(
        parsed.quarantine, columns=["line", "column_name", "reason"]
    ) if parsed.quarantine else None
    main_kind = frames[-1][0] if frames else plan.kind
    for kind, frame in frames:
        part = LoadSummary(file=summary.file, kind=kind, load_id=summary.load_id)
        _load_frame(con, kind, frame, part, instrument, adapter_rejects if kind == main_kind else None,
                    scrubber)
        if kind == main_kind:
            summary.scrubbed, summary.groups_unknown = part.scrubbed, part.groups_unknown
            summary.rows_loaded += part.rows_loaded
            summary.rows_quarantined += part.rows_quarantined
            summary.answers_quarantined += part.answers_quarantined
            for reason, n in part.quarantine_reasons.items():
                summary.quarantine_reasons[reason] = summary.quarantine_reasons.get(reason, 0) + n
        else:
            summary.notes.append(f"{part.rows_loaded} new {kind} ({part.rows_duplicate} already loaded)")
    # Rows the adapter folded into others (join/leave segments of one person) or set aside
    # (incomplete responses) are accounted for so the file still reconciles.
    summary.rows_read = parsed.rows_read
    excluded, merged = parsed.rows_excluded, parsed.rows_merged
    if excluded:
        # Not loadable by design (an unfinished response; a registration that never attended).
        # Counted with the quarantine, with one record saying why, so the file reconciles.
        what = ("incomplete responses" if plan.kind == "survey_responses"
                else "registrations without attendance (no-shows, declined, waiting room only)")
        reason = f"{what}; excluded"
        summary.quarantine_reasons[reason] = excluded
        con.execute("INSERT INTO raw.quarantine VALUES (?, ?, NULL, NULL, ?, NULL)",
                    [summary.load_id, plan.path.name, f"{excluded} {reason}"])
    if merged:
        summary.notes.append(f"{merged} join/leave segments merged into one row per member per session "
                             "(counted as duplicates)")
    summary.rows_quarantined += excluded
    summary.rows_duplicate = summary.rows_read - summary.rows_loaded - summary.rows_quarantined


def _register_response_keys(con, fmt: str, parsed) -> None:
    """`response_keys` (line, response_key): each response's identity from the tool's own id.

    HMAC-SHA256 under the warehouse's secret (hearth.warehouse.warehouse_secret) of the format,
    survey, submission time and the tool's id: the id itself is never stored, and ids that
    restart at 1 in every survey (LimeSurvey) do not collide across surveys.
    """
    secret = warehouse_secret(con)
    survey = parsed.survey.set_index("line")
    keys = []
    for line, tool_id in parsed.response_ids.items():
        if line not in survey.index:
            continue
        row = survey.loc[line]
        message = "\x1f".join([fmt, str(row["survey_id"]), str(row["submitted_at"]), tool_id])
        keys.append((line, hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()))
    frame = pd.DataFrame(keys, columns=["line", "response_key"]).astype({"line": "int64"})
    con.register("response_keys_in", frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE response_keys AS SELECT * FROM response_keys_in")
    finally:
        con.unregister("response_keys_in")


def _load_frame(con, kind, frame: pd.DataFrame, summary: LoadSummary, instrument, rejects,
                scrubber: Scrubber | None = None) -> None:
    """Load a canonical frame produced by an adapter through the same checks as a canonical file."""
    schema = schema_of(kind, instrument)
    frame = frame.copy()
    if "line" not in frame:
        frame["line"] = range(2, len(frame) + 2)
    columns = [c for c in frame.columns if c in schema.columns]
    text = frame[columns].astype("string").astype(object)
    text = text.where(text.notna() & (text != ""), None)
    text["line"] = frame["line"].astype("int64")
    present = set(columns)
    checks = _checks(kind, schema, present, instrument)
    con.register("frame_in", text)
    try:
        source = f"SELECT {', '.join(f'CAST({sql_identifier(c)} AS VARCHAR) AS {sql_identifier(c)}' for c in columns)}, line FROM frame_in"
        _stage(con, source, kind, present, instrument, checks, keep_line=True)
    finally:
        con.unregister("frame_in")
    con.execute("CREATE OR REPLACE TEMP TABLE reject_errors (line BIGINT, column_name VARCHAR, "
                "error_type VARCHAR, error_message VARCHAR, csv_line VARCHAR)")
    summary.rows_read = len(frame)
    _find_failures(con, checks, kind == "survey_responses", "line")
    if rejects is not None:
        con.register("adapter_rejects", rejects)
        con.execute("INSERT INTO failures SELECT (SELECT rowid FROM staged s WHERE s.line = a.line), "
                    "CAST(line AS BIGINT), column_name, reason, NULL, "
                    "CASE WHEN column_name IS NULL THEN 'row' ELSE 'answer' END FROM adapter_rejects a")
        con.unregister("adapter_rejects")
    _quarantine(con, summary, kind)
    _insert(con, kind, summary, instrument, present, scrubber)
    for table in ("staged", "suspects", "failures", "reject_errors"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _write_manifest(con, summary: LoadSummary, digest: str, plan: _Plan) -> None:
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
    """Keep core.instrument_items in step with the instrument in use."""
    rows = [
        (i.item_id, i.construct, i.position, i.text, i.scale_min, i.scale_max, i.reverse_keyed, i.label_map)
        for i in instrument.items
    ]
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM core.instrument_items")
    con.executemany("INSERT INTO core.instrument_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("COMMIT")
