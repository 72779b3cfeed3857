"""Stage 3, load: the judged rows into core, unless their natural key is already loaded (those
are duplicates); roster changes kept as history; survey comments scrubbed and groups resolved
before storage; tool exports turned into canonical frames by their adapters first."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import numpy as np
import pandas as pd

from hearth.config import Config
from hearth.instrument import Instrument
from hearth.warehouse import warehouse_secret
from pipelines.adapters import FORMATS, AdapterError, looks_like, parse_export
from pipelines.ingest.discover import Plan
from pipelines.ingest.stage import (
    Check,
    checks_for,
    db_detail,
    find_failures,
    line_sql,
    quarantine,
    stage_rows,
)
from pipelines.ingest.summary import IngestError, LoadSummary
from pipelines.schemas import (
    ENTITIES,
    required_columns,
    schema_of,
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


def scrubber_for(con, config: Config) -> Scrubber:
    """Free-text scrubbing for this load: the names of every rostered member and coach."""
    names = [r[0] for r in con.execute(
        "SELECT name FROM core.members UNION SELECT coach FROM core.groups"
    ).fetchall()]
    return Scrubber.for_roster(names, phone_region(config.phone_region, config.time_zone))



def load_canonical(con, plan: Plan, summary: LoadSummary, instrument: Instrument,
                    scrubber: Scrubber | None = None) -> None:
    """The judged load: every row staged and judged, failures quarantined, the rest inserted
    unless their key is already loaded or repeated in the file."""
    source, checks, present = canonical_source(plan, summary, instrument)
    kind = plan.kind
    try:
        stage_rows(con, source, kind, present, instrument, checks)
    except duckdb.Error as exc:
        raise IngestError(
            f"could not be read as CSV ({db_detail(exc, kind)}); check it is a comma-separated export"
        ) from None
    summary.rows_read = con.execute("SELECT count(*) FROM staged").fetchone()[0] + con.execute(
        "SELECT count(DISTINCT line) FROM reject_errors"
    ).fetchone()[0]
    find_failures(con, checks, kind == "survey_responses", line_sql(con))
    quarantine(con, summary, kind)
    insert_rows(con, kind, summary, instrument, present, scrubber)


def canonical_source(plan: Plan, summary: LoadSummary, instrument: Instrument,
                     rejects: bool = True) -> tuple[str, list[Check], set[str]]:
    """(SQL reading the file's known columns as text, the entity's checks, the columns present).

    Refuses a header that repeats a name or lacks a required column; notes the columns that are
    ignored or, for surveys, dropped as identifying. `rejects`: keep DuckDB's record of lines it
    could not split (reject_errors), as every load does; a look at a few rows needs none.
    """
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
        + ("store_rejects = true, ignore_errors = true)" if rejects else "ignore_errors = true)")
    )
    present = set(lowered)
    return source, checks_for(kind, schema, present, instrument), present


# Entities whose rows can go straight from the file into core (load_in_one_pass): no roster
# history to keep (members) and no free text to scrub (surveys).
ONE_PASS_KINDS = ("groups", "sessions", "attendance", "buddy_checkins")


def load_in_one_pass(con, plan: Plan, summary: LoadSummary, instrument: Instrument,
                     data_lines: int | None) -> bool:
    """Insert a clean file's rows straight from the file into core, judged on the way in.

    Staging ten million rows in a temporary table and reading them back costs about a fifth of
    the whole load (docs/benchmarks.md, Ingest). Most files are clean and new, so this is tried
    first: one statement reads the file, checks every row and inserts the rows that pass. It
    holds only when nothing needed judging one row at a time - DuckDB could split every line,
    every line of the file loaded (`data_lines`, counted while hashing, is the most rows the
    file can hold), no key repeats inside the file and none was loaded before. Returns False
    otherwise; the caller then rolls the transaction back and takes the judged load
    (load_canonical), which finds the lines, the reasons and the duplicates.
    """
    if plan.kind not in ONE_PASS_KINDS or data_lines is None:
        return False
    entity = ENTITIES[plan.kind]
    source, checks, present = canonical_source(plan, summary, instrument)
    try:
        inserted = _insert_straight(con, plan, summary, instrument, source, checks, present)
    except duckdb.Error:
        return False  # (the transaction is rolled back) the judged load says what is wrong
    if inserted is None or inserted != data_lines:
        return False
    if con.execute("SELECT EXISTS (SELECT 1 FROM reject_errors)").fetchone()[0]:
        return False
    keys = ", ".join(entity.key)
    if len(repeated_hashes(con, f"SELECT hash({keys}) AS h FROM {entity.table} "
                                f"WHERE load_id = {summary.load_id}")):
        return False
    summary.rows_read = summary.rows_loaded = inserted
    summary.rows_duplicate = summary.rows_quarantined = 0
    return True


def _insert_straight(con, plan: Plan, summary: LoadSummary, instrument: Instrument, source: str,
                     checks: list[Check], present: set[str]) -> int | None:
    """Insert the file's rows that pass every check and whose key is not loaded yet; the number
    inserted, or None when the file's first rows are already loaded (a re-export)."""
    entity = ENTITIES[plan.kind]
    matches = " AND ".join(f"t.{col} = {expr}" for col, expr in
                           zip(entity.key, natural_key_sql(plan.kind), strict=True))
    conditions = [f"({' AND '.join(f'({c.predicate})' for c in checks) or 'TRUE'}) IS TRUE"]
    if con.execute(f"SELECT EXISTS (SELECT 1 FROM {entity.table})").fetchone()[0]:
        # An overlapping re-export usually starts with rows already loaded: a look at its first
        # rows saves a pass that would only be rolled back.
        head, _, _ = canonical_source(plan, LoadSummary(file=summary.file), instrument, rejects=False)
        if con.execute(f"SELECT EXISTS (SELECT 1 FROM ({head} LIMIT 1000) s "
                       f"WHERE EXISTS (SELECT 1 FROM {entity.table} t WHERE {matches}))").fetchone()[0]:
            return None
        conditions.append(f"NOT EXISTS (SELECT 1 FROM {entity.table} t WHERE {matches})")
    # Optional columns a file leaves out are simply empty, as in the staged table.
    absent = "".join(f", CAST(NULL AS VARCHAR) AS {sql_identifier(name)}"
                     for name, column in schema_of(plan.kind, instrument).columns.items()
                     if name not in present and not column.required)
    con.execute(f"CREATE TEMP VIEW valid AS SELECT * FROM (SELECT *{absent} FROM ({source})) s "
                f"WHERE {' AND '.join(conditions)}")
    inserted = con.execute(_INSERTS[plan.kind].replace("$load_id", str(summary.load_id))).fetchone()[0]
    con.execute("DROP VIEW valid")
    return inserted


# Key columns held as text in the staged row that the core tables hold typed: compare typed.
KEY_TYPES = {"joined_on": "DATE", "checked_in_at": "TIMESTAMPTZ"}



def natural_key_sql(kind: str) -> list[str]:
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



def insert_rows(con, kind: str, summary: LoadSummary, instrument: Instrument, present: set[str],
            scrubber: Scrubber | None = None) -> None:
    """Insert rows that passed, skipping natural keys already loaded or repeated in the file."""
    entity = ENTITIES[kind]
    if kind == "survey_responses":
        insert_survey(con, summary, instrument, present, scrubber or Scrubber())
        return
    changed = _apply_roster_changes(con, summary, present) if kind == "members" else 0
    key_sql = natural_key_sql(kind)
    matches = " AND ".join(f"t.{col} = {expr}" for col, expr in zip(entity.key, key_sql, strict=True))
    # Keys repeated inside the file: the first valid occurrence loads, the rest are duplicates.
    # Only keys whose 64-bit hash repeats can repeat; those few are then compared exactly.
    keys = ", ".join(key_sql)
    clashes = repeated_hashes(con, f"SELECT hash({keys}) AS h FROM staged s WHERE s.ok")
    repeated = " AND ".join(f"r.k{i} = {expr}" for i, expr in enumerate(key_sql))
    conditions = ["s.ok"]
    if len(clashes):
        con.register("clashes", pd.DataFrame({"h": clashes}))
        try:
            con.execute(
                f"""CREATE TEMP TABLE repeats AS
                    SELECT {", ".join(f"{expr} AS k{i}" for i, expr in enumerate(key_sql))},
                           min(s.rowid) AS keep
                    FROM staged s WHERE s.ok AND hash({keys}) IN (SELECT h FROM clashes)
                    GROUP BY ALL HAVING count(*) > 1"""
            )
        finally:
            con.unregister("clashes")
        if con.execute("SELECT EXISTS (SELECT 1 FROM repeats)").fetchone()[0]:
            conditions.append(f"NOT EXISTS (SELECT 1 FROM repeats r WHERE {repeated} AND r.keep <> s.rowid)")
    # Anti-joins against empty tables still cost a pass over every row: leave them out then.
    if con.execute(f"SELECT EXISTS (SELECT 1 FROM {entity.table})").fetchone()[0]:
        conditions.append(f"NOT EXISTS (SELECT 1 FROM {entity.table} t WHERE {matches})")
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
    summary.rows_duplicate = summary.rows_read - summary.rows_loaded - summary.rows_quarantined


def repeated_hashes(con, query: str) -> np.ndarray:
    """The values of `query`'s one UBIGINT column (hashes of keys) that occur more than once.

    Sorted in numpy rather than grouped in DuckDB: at ten million rows, nearly all of them
    distinct, DuckDB's hash aggregate spends several times the CPU of one in-place sort of
    the 80 MB array (docs/benchmarks.md, Ingest), and most files have no repeats at all.
    """
    hashes = con.execute(query).fetchnumpy()["h"]
    hashes.sort()
    repeated = hashes[1:][hashes[1:] == hashes[:-1]]
    return np.unique(repeated)


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



def insert_survey(con, summary: LoadSummary, instrument: Instrument, present: set[str],
                   scrubber: Scrubber) -> None:
    items = [i for i in instrument.item_ids if i in present]
    if "comment" in present:
        _scrub_comments(con, summary, scrubber)
    if "group_id" in present:
        _resolve_groups(con, summary)
    # An answer that failed its check is blanked; the rest of the response still counts.
    # (the failed columns of each row as one list, joined once, instead of a subquery per item)
    answer = {
        i: f"""CASE WHEN list_contains(_failed, {sql_literal(i)})
                    THEN NULL ELSE CAST(trim({sql_identifier(i)}) AS SMALLINT) END""" for i in items
    }
    group = "group_id" if "group_id" in present else "NULL"
    comment = "comment" if "comment" in present else "NULL"
    # Each answer is computed once (innermost select) and the fingerprint read from it: written
    # out in the fingerprint and its window too, the answers' subqueries took ~190 ms per file
    # (now ~27 ms).
    # The comment is no part of a response's content identity (its place stays, empty, so a
    # response without one keeps the id it always had): a comment is scrubbed again when the
    # roster later names someone it mentions (rescrub_comments), so a re-export would scrub it
    # differently and load it again, and a hash of the text as first scrubbed would keep in the
    # warehouse a name the roster did not list yet, testable against a guess.
    fingerprint = " || '|' || ".join(
        ["survey_id", "CAST(CAST(submitted_at AS TIMESTAMPTZ) AS VARCHAR)", "coalesce(_group, '')"]
        + [f"coalesce(CAST({sql_identifier(i)} AS VARCHAR), '')" for i in items]
        + ["''"]
    )
    # A response's identity: the keyed hash of the tool's own response id where the export has
    # one (response_keys, from load_export); otherwise its content and how many identical rows
    # came before it in this file. Two people answering alike in the same second are two
    # responses (occurrences 1 and 2), while the same file or a re-export names the same
    # occurrences again and adds nothing. The first occurrence keeps the plain content hash, so
    # warehouses loaded before this rule still recognise their files. (Responses stored with a
    # comment before the comment left the fingerprint are recognised by their content:
    # _drop_copies.)
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
                SELECT key, key IS NOT NULL AS keyed, md5(_fingerprint) AS content,
                       row_number() OVER (PARTITION BY md5(_fingerprint), key IS NULL
                                          ORDER BY rid) AS occurrence,
                       survey_id, CAST(submitted_at AS TIMESTAMPTZ) AS submitted_at,
                       nullif(trim(_group), '') AS group_id, _comment AS comment, rid,
                       {", ".join(sql_identifier(i) for i in items)}
                FROM (
                    SELECT *, {fingerprint} AS _fingerprint
                    FROM (
                        SELECT {key} AS key, survey_id, submitted_at, {group} AS _group,
                               {comment} AS _comment, s.rowid AS rid,
                               {", ".join(f"{answer[i]} AS {sql_identifier(i)}" for i in items)}
                        FROM staged s {key_join}
                        LEFT JOIN (SELECT rid AS _failed_rid, list(column_name) AS _failed
                                   FROM failures GROUP BY rid) f ON f._failed_rid = s.rowid
                        WHERE ok
                    )
                )
            )
            QUALIFY row_number() OVER (PARTITION BY response_id ORDER BY rid) = 1"""
    )
    try:
        _drop_copies(con, items, seconds=None)
        _drop_minute_copies(con, summary, items)
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



def _drop_minute_copies(con, summary: LoadSummary, items: list[str]) -> None:
    """Responses already loaded, in a file whose times lost their seconds.

    Excel, opening an export, shows its times as `4/1/2025 18:28` and saves them so; it also
    writes a long respondent id as `1.14227E+11`. Such a copy of responses already loaded names
    them by neither the second they were submitted nor their id, so their identity (the tool's
    id, or the content to the second) is new and they would count twice. When every time in the
    file is on the minute, a response whose survey, minute, group and answers match one already
    loaded is that response: a duplicate. Occurrences are paired, so two people who answered
    alike in the same minute remain two (the file's second copy matches only a second one
    loaded). The comment is not compared: it may have been scrubbed again since it was stored
    (rescrub_comments), as it is left out of a response's identity."""
    on_the_minute, total = con.execute(
        "SELECT count(*) FILTER (WHERE epoch(submitted_at) % 60 = 0), count(*) FROM responses"
    ).fetchone()
    if not total or on_the_minute < total:
        return
    copies = _drop_copies(con, items, seconds=60)
    if copies:
        summary.notes.append(
            f"{copies} response(s) match ones already loaded to the minute (this file's "
            "times have no seconds, as an Excel re-save writes them): counted as duplicates")


def _drop_copies(con, items: list[str], seconds: int | None) -> int:
    """Drop from `responses` the ones already loaded, matched by content; how many.

    The content is the survey, the time (to the second, or within `seconds`), the group and the
    answers to this file's items, never the comment; equal contents are paired by occurrence.
    With `seconds` None it compares only the responses without a tool's id that their id does
    not find, against the stored ones at their exact time that no id of this file names: the
    responses a warehouse stored under an id hashed with their comment (before the comment
    left the fingerprint), whose comment has since been scrubbed again, or whose re-export
    lists alike responses in another order."""
    ordered = sorted(items)
    answers = "concat_ws(';', " + ", ".join(
        f"CASE WHEN {sql_identifier(i)} IS NULL THEN NULL ELSE {sql_literal(i + '=')} || "
        f"CAST({sql_identifier(i)} AS VARCHAR) END" for i in ordered) + ")" if ordered else "''"
    when = ("epoch_us({a}.submitted_at)" if seconds is None
            else f"CAST(floor(epoch({{a}}.submitted_at) / {int(seconds)}) AS BIGINT)")

    def fingerprint(alias: str, answer_text: str) -> str:
        return (f"{alias}.survey_id || '|' || {when.format(a=alias)} || '|' || "
                f"coalesce({alias}.group_id, '') || '|' || coalesce({answer_text}, '')")

    if seconds is None:
        candidates = ("(NOT keyed AND response_id NOT IN "
                      "(SELECT response_id FROM core.survey_responses))")
        loaded = f"""loaded AS (SELECT r.* FROM core.survey_responses r
                       SEMI JOIN (SELECT survey_id, submitted_at FROM responses
                                  WHERE {candidates}) c USING (survey_id, submitted_at)
                       ANTI JOIN responses x USING (response_id))"""
        # only rows at a time a stored response has need a fingerprint (a first load's have
        # none): the fingerprint holds the time, so their occurrences number the same
        near = ("SEMI JOIN (SELECT DISTINCT survey_id, submitted_at FROM loaded) t "
                "ON t.survey_id = n.survey_id AND t.submitted_at = n.submitted_at")
        if not con.execute(f"WITH {loaded} SELECT count(*) FROM loaded").fetchone()[0]:
            return 0  # (the usual case, and the whole query's planning cost 50 ms a file)
    else:
        candidates, near = "TRUE", ""
        loaded = f"""span AS (SELECT min(submitted_at) - INTERVAL {int(seconds)} SECOND AS lo,
                                 max(submitted_at) + INTERVAL {int(seconds)} SECOND AS hi
                          FROM responses),
            loaded AS (SELECT r.* FROM core.survey_responses r, span
                       WHERE r.survey_id IN (SELECT survey_id FROM responses)
                         AND r.submitted_at BETWEEN span.lo AND span.hi)"""
    wanted = ", ".join(sql_literal(i) for i in ordered) or "NULL"
    copies = con.execute(
        f"""WITH {loaded},
            given AS (SELECT response_id, string_agg(item_id || '=' || CAST(value AS VARCHAR), ';'
                                                     ORDER BY item_id) AS answers
                      FROM core.survey_answers
                      WHERE response_id IN (SELECT response_id FROM loaded)
                        AND item_id IN ({wanted})
                      GROUP BY response_id),
            old AS (SELECT {fingerprint('l', 'g.answers')} AS fp,
                           row_number() OVER (PARTITION BY {fingerprint('l', 'g.answers')}
                                              ORDER BY l.response_id) AS occurrence
                    FROM loaded l LEFT JOIN given g USING (response_id)),
            new AS (SELECT n.rid, {fingerprint('n', answers)} AS fp,
                           row_number() OVER (PARTITION BY {fingerprint('n', answers)}
                                              ORDER BY n.rid) AS occurrence
                    FROM responses n {near} WHERE {candidates})
            SELECT new.rid FROM new JOIN old USING (fp, occurrence)"""
    ).fetchall()
    if copies:
        con.execute(f"DELETE FROM responses WHERE rid IN ({', '.join(str(r) for (r,) in copies)})")
    return len(copies)


def _scrub_comments(con, summary: LoadSummary, scrubber: Scrubber) -> None:
    """Replace emails, phones, links and members' names in the comments before they are stored.

    No hash of a comment is kept, scrubbed or not (a response's content id leaves it out), so
    nothing stored can be tested against a guess of what was removed. Only the counts per
    placeholder reach the summary and the manifest.
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



#: Loads that add names to the roster (members, and coaches with their groups).
ROSTER_KINDS = ("members", "groups")
#: Every table holding a survey comment: as stored, as last published (the release's frozen
#: lists) and as the marts hold them.
COMMENT_TABLES = ("core.survey_responses", "release.comment_ledger", "marts.comments")


def rescrub_comments(con, config: Config, load_id: int) -> int:
    """Scrub the stored comments again for the names a roster load just added; rows changed.

    Comments are scrubbed against the roster as it is when the survey loads. A newcomer named
    in a comment before members.csv listed them ("Zara Quill keeps interrupting") stayed named
    in the warehouse and in the program's list every audience reads; so a load that adds a
    member or coach (or renames one) scrubs every stored copy of the comments again for the new
    names, in the load's own transaction. Only comments holding a new name's letters (as a
    word, two neighbouring words joined, or a run of single letters: "Qu-" and "ill" over two
    lines, "Z A R A") are scrubbed again, and only their names can change: the rest was
    scrubbed when the comment was stored."""
    names = [n for (n,) in con.execute(
        """SELECT name FROM core.members WHERE load_id = $l
           UNION SELECT new_value FROM core.member_history WHERE load_id = $l AND field = 'name'
           UNION SELECT coach FROM core.groups WHERE load_id = $l""", {"l": load_id}
    ).fetchall() if n and str(n).strip()]
    if not names:
        return 0
    scrubber = Scrubber.for_roster(names, phone_region(config.phone_region, config.time_zone))
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall()}
    changed_rows = 0
    for table in (t for t in COMMENT_TABLES if t in present):
        texts = [t for (t,) in con.execute(
            f"SELECT DISTINCT comment FROM {table} WHERE comment IS NOT NULL").fetchall()]
        changed = [(t, new) for t in texts
                   if scrubber.may_name(t) and (new := scrubber.scrub_names(t)[0]) != t]
        if not changed:
            continue
        con.register("_rescrubbed", pd.DataFrame(changed, columns=["old", "new"]))
        try:
            changed_rows += con.execute(
                f"UPDATE {table} SET comment = c.new FROM _rescrubbed c "
                f"WHERE {table}.comment = c.old").fetchone()[0]
        finally:
            con.unregister("_rescrubbed")
    return changed_rows


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



def load_export(con, plan: Plan, summary: LoadSummary, config: Config, instrument: Instrument,
                 scrubber: Scrubber | None = None) -> None:
    """A meeting or survey tool's export: the adapter makes canonical frames, then the same load."""
    roster = con.execute(
        """SELECT m.member_id, m.name, m.email, ms.group_id, ms.joined_on, ms.left_on,
                  g.name AS group_name
           FROM core.members m JOIN core.memberships ms USING (member_id)
           LEFT JOIN core.groups g ON g.group_id = ms.group_id"""
    ).df()
    try:
        parsed = parse_export(plan.path, plan.fmt, config, roster, instrument)
    except AdapterError as exc:  # its message may name the file; the summary names it already
        message = str(exc).removeprefix(f"{plan.path}: ")
        shown = looks_like(plan.path)
        if shown not in (None, plan.fmt):  # --format named another tool than the file's own
            message += (f"; the file looks like a {FORMATS[shown].title} export: ingest it "
                        f"without --format, or with --format {shown}")
        raise IngestError(message) from None
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
        load_frame(con, kind, frame, part, instrument, adapter_rejects if kind == main_kind else None,
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



def load_frame(con, kind, frame: pd.DataFrame, summary: LoadSummary, instrument, rejects,
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
    checks = checks_for(kind, schema, present, instrument)
    con.register("frame_in", text)
    try:
        source = f"SELECT {', '.join(f'CAST({sql_identifier(c)} AS VARCHAR) AS {sql_identifier(c)}' for c in columns)}, line FROM frame_in"
        stage_rows(con, source, kind, present, instrument, checks, keep_line=True)
    finally:
        con.unregister("frame_in")
    con.execute("CREATE OR REPLACE TEMP TABLE reject_errors (line BIGINT, column_name VARCHAR, "
                "error_type VARCHAR, error_message VARCHAR, csv_line VARCHAR)")
    summary.rows_read = len(frame)
    find_failures(con, checks, kind == "survey_responses", "line")
    if rejects is not None:
        con.register("adapter_rejects", rejects)
        con.execute("INSERT INTO failures SELECT (SELECT rowid FROM staged s WHERE s.line = a.line), "
                    "CAST(line AS BIGINT), column_name, reason, NULL, "
                    "CASE WHEN column_name IS NULL THEN 'row' ELSE 'answer' END FROM adapter_rejects a")
        con.unregister("adapter_rejects")
    quarantine(con, summary, kind)
    insert_rows(con, kind, summary, instrument, present, scrubber)
    for table in ("staged", "suspects", "failures", "reject_errors"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
