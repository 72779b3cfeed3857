"""Stage 2, stage and judge: the file's rows in a DuckDB staging table, every row judged by the
entity's checks (compiled from its pandera model), failing rows sent to raw.quarantine with line,
column and reason. For survey files the quarantine never keeps the answer itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from hearth.instrument import Instrument
from pipelines.ingest.summary import LoadSummary
from pipelines.schemas import (
    DATE_PATTERN_REASONS,
    ENTITIES,
    schema_of,
    sql_checks,
    sql_identifier,
    sql_literal,
)


def db_detail(exc: duckdb.Error, kind: str | None) -> str:
    """DuckDB's reason, for the message. Its messages may quote a value ("Could not convert
    string 'ana@...'"); for a survey file, where values are answers, only the kind of error."""
    if kind == "survey_responses":
        return f"{type(exc).__name__.removesuffix('Exception')} while reading its rows"
    return str(exc).splitlines()[0]



@dataclass(frozen=True)

class Check:
    column: str | None
    predicate: str   # holds for a valid row
    reason: str      # SQL expression for the reason
    scope: str       # "row": the row is quarantined; "answer": only that survey answer is



# A date or time column holding a whole number of five digits (45748, 45748.5): Excel showed
# the column as numbers and saved its date serials. Said as such, with the fix.
_EXCEL_SERIAL_SQL = r"\s*\d{5}([.,]\d+)?\s*"
_EXCEL_SERIAL_FIX = ("; this is a date Excel saved as its serial number (the column was formatted "
                     "as a number): format the column as a date (yyyy-mm-dd, or "
                     "yyyy-mm-ddThh:mm:ss+hh:mm for times) and save the file again")


def _reason_sql(check) -> str:
    """The SQL for a check's reason; a date check names Excel's serial numbers when it sees one."""
    if check.reason not in DATE_PATTERN_REASONS:
        return sql_literal(check.reason)
    return (f"CASE WHEN regexp_full_match({sql_identifier(check.column)}, "
            f"{sql_literal(_EXCEL_SERIAL_SQL)}) THEN {sql_literal(check.reason + _EXCEL_SERIAL_FIX)} "
            f"ELSE {sql_literal(check.reason)} END")


def checks_for(kind: str, schema, present: set[str], instrument: Instrument) -> list[Check]:
    """Every rule for this entity: the pandera model's, then the warehouse references and
    cross-column rules that a column-wise model cannot hold."""
    entity = ENTITIES[kind]
    items = set(instrument.item_ids) if kind == "survey_responses" else set()
    checks = [
        Check(c.column, c.predicate, _reason_sql(c), "answer" if c.column in items else "row")
        for c in sql_checks(schema, present)
    ]
    for column, table, ref in entity.references:
        if column in present:
            noun = table.split(".")[1]
            col = sql_identifier(column)
            checks.append(Check(
                column,
                f"{col} IS NULL OR {col} IN (SELECT {ref} FROM {table})",
                f"{sql_literal(noun.rstrip('s') + ' ')} || {col} || "
                + sql_literal(f" is not in the warehouse; load its {noun} file first (or in the same run)"),
                "row",
            ))
    checks += [Check(c, f"({p}) IS NOT FALSE", sql_literal(r), "row") for c, p, r in entity.row_rules if c in present]
    if items:
        answered = [sql_identifier(i) for i in instrument.item_ids if i in present]
        checks.append(Check(None, f"coalesce({', '.join(answered)}) IS NOT NULL",
                             sql_literal("answers no survey item; nothing to load"), "row"))
    return checks



def stage_rows(con, source: str, kind: str, present: set[str], instrument: Instrument,
           checks: list[Check], keep_line: bool = False) -> None:
    """Materialise the rows as text in `staged`, judged in the same pass.

    `ok`: the row passes every row-level rule and may load; `clean`: it also has no bad survey
    answer. One pass over a ten-million-row file does both, so a clean file is read once.
    """
    columns = [c for c in schema_of(kind, instrument).columns if c in present]
    mapped = ", ".join(answer_sql(c, instrument) if kind == "survey_responses" else sql_identifier(c) + f" AS {sql_identifier(c)}"
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



def answer_sql(column: str, instrument: Instrument) -> str:
    """Survey answers may be labels ("Agree"); known labels become their numbers."""
    col = sql_identifier(column)
    if column not in instrument.item_ids:
        return f"{col} AS {col}"
    item = instrument.item(column)
    labels = instrument.labels.get(item.label_map, {})
    if not labels:
        return f"{col} AS {col}"
    cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in labels.items())
    # hearth.instrument.label_key in SQL: composed accents, straight quotes, case and spacing
    # folded, no surrounding quotes, no final full stop.
    folded = (f"lower(trim(regexp_replace(translate(nfc_normalize({col}), "
              f"'\u2018\u2019\u201c\u201d', '''''\"\"'), '\\s+', ' ', 'g')))")
    unquoted = f"trim(regexp_replace({folded}, '^[\"'']+|[\"'']+$', '', 'g'))"
    key = f"regexp_replace({unquoted}, '([^.])\\.$', '\\1')"
    return f"CASE {key} {cases} ELSE trim({col}) END AS {col}"



def line_sql(con) -> str:
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



def find_failures(con, checks: list[Check], survey: bool, line_sql: str) -> None:
    """Every failing (rid, line, column, reason, value, scope) into `failures`.

    Only the rows `stage_rows` judged unclean are examined rule by rule, so the detail costs
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



def quarantine(con, summary: LoadSummary, kind: str) -> None:
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
