"""`hearth refresh`: rebuild the marts tables from core, in one transaction, as a declared graph.

The refresh is a graph of steps (metrics.graph): one SQL file per set-based step under
metrics/sql/ (each declares what it reads and writes in its first lines) and the Python steps
declared below, which add what SQL is awkward for (intervals, tests, shrinkage, flags,
anonymity) on small frames. The runner orders the steps from their declarations and checks
every table a step writes against its declared columns. Raw attendance events never leave
DuckDB.

`refresh(con, config, since="2025Q3")` rebuilds only what new data from that quarter on can
touch: the steps that read `stage_scope` build rows for its quarters only (from `since`, or
earlier where a figure of an earlier quarter depends on later data: see metrics/sql/scope.sql),
and the marts they write keep the rows of earlier quarters. Steps that summarise the whole
history (groups, participation funnel, retention curve, freshness) are rebuilt in full. The
membership attendance bits every quarter is counted from are kept between refreshes
(KEPT_TABLES, the `kept` schema): an incremental refresh reads the attendance of the sessions
from `since` on only. With `since=None` every quarter is rebuilt.

If anything fails the transaction rolls back and the previous marts stay as they were.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from hearth.calendar import (
    parse_quarter,
    quarter_end_sql,
    quarter_sql,
    quarter_start_sql,
    shift_quarter,
)
from hearth.config import Config
from hearth.errors import HearthError
from hearth.instrument import load_instrument
from hearth.quoting import sql_literal
from metrics.change import add_changes, funnel_points, shrunken_estimates
from metrics.definitions import LONELY_TOTAL, REGULAR_SHARE, WILLING_SCORE
from metrics.flags import EARLIER_QUARTERS, build_flags
from metrics.frames import query_frame
from metrics.graph import (
    SCOPE_TABLE,
    GraphError,
    Step,
    check_outputs,
    mermaid,
    order_steps,
    python_step,
    sql_steps,
    table_columns,
    tables_columns,
)
from metrics.participation import attendance_inclusion, attendance_indicators
from metrics.release import (
    advance_publication,
    comments_release,
    inclusion_release,
    record_figures,
    survey_release,
)
from metrics.scoring import reliability_table, retention_curve

#: Tables that exist before a refresh: what the pipelines load.
CORE_TABLES = (
    "core.groups", "core.members", "core.memberships", "core.sessions", "core.attendance",
    "core.buddy_checkins", "core.survey_responses", "core.survey_answers",
    "core.instrument_items",
)

#: Stage tables the runner keeps after a refresh, so the next incremental one builds on them
#: instead of reading the whole history again: {kept table: (stage table, its column types)}.
#: The membership attendance bits and the attendance rows per session and loaded file
#: (metrics/sql/03_memberships.sql) read only the sessions from the quarter new data starts in
#: and take the earlier sessions' from here. They hold member-level rows, so no published
#: snapshot carries the `kept` schema.
KEPT_TABLES = {
    "kept.pair_bits": ("stage_pair_bits", {"group_id": "VARCHAR", "member_id": "VARCHAR",
                                           "a": "BIT", "e": "BIT"}),
    "kept.session_rows": ("stage_session_rows", {"session_id": "VARCHAR", "load_id": "INTEGER",
                                                 "attended": "BIGINT", "excused": "BIGINT",
                                                 "rows": "BIGINT"}),
}

#: Every table that exists before a refresh runs: the loaded core and the kept stage tables.
SOURCE_TABLES = (*CORE_TABLES, *KEPT_TABLES)


def install_macros(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """The macros the SQL steps use: quarters and local dates from the configuration, and the
    survey and participation thresholds from metrics.definitions (their one home)."""
    month = config.fiscal_year_start_month
    con.execute(f"CREATE OR REPLACE TEMP MACRO quarter_of(d) AS {quarter_sql('d', month)}")
    con.execute(f"CREATE OR REPLACE TEMP MACRO quarter_start(q) AS {quarter_start_sql('q', month)}")
    con.execute(f"CREATE OR REPLACE TEMP MACRO quarter_end(q) AS {quarter_end_sql('q', month)}")
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO local_date(ts) AS "
        f"timezone({sql_literal(config.time_zone)}, ts)::DATE"
    )
    con.execute(f"CREATE OR REPLACE TEMP MACRO is_lonely(total) AS total >= {LONELY_TOTAL}")
    con.execute(f"CREATE OR REPLACE TEMP MACRO is_willing(score) AS score >= {WILLING_SCORE}")
    con.execute("CREATE OR REPLACE TEMP MACRO is_regular(attended, expected) AS "
                f"attended >= {float(REGULAR_SHARE)!r} * expected")


def _stage_instrument(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """The instrument answers are scored with: core.instrument_items, written by every ingest;
    before any ingest has written it, the configured instrument file."""
    con.execute("CREATE OR REPLACE TEMP TABLE stage_instrument AS SELECT * FROM core.instrument_items")
    if con.execute("SELECT count(*) FROM stage_instrument").fetchone()[0]:
        return
    rows = [
        (i.item_id, i.construct, i.position, i.text, i.scale_min, i.scale_max, i.reverse_keyed,
         i.label_map)
        for i in load_instrument(config).items
    ]
    con.executemany("INSERT INTO stage_instrument VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame,
                schema: dict[str, str]) -> None:
    """Create marts.<name> from a small frame, with the column types given (in that order)."""
    columns = ", ".join(f"{col} {typ}" for col, typ in schema.items())
    con.execute(f"CREATE TABLE marts.{name} ({columns})")
    if len(frame):
        # handed over as Arrow: DuckDB reads its columns directly instead of scanning pandas
        # object columns value by value
        con.register("_hearth_frame",
                     pa.Table.from_pandas(frame[list(schema)], preserve_index=False))
        try:
            con.execute(f"INSERT INTO marts.{name} SELECT * FROM _hearth_frame")
        finally:
            con.unregister("_hearth_frame")


@dataclass
class Context:
    """What a Python step is handed: the connection, the configuration, the quarters being
    rebuilt, and the marts frames earlier Python steps wrote in this refresh."""

    con: duckdb.DuckDBPyConnection
    config: Config
    since: str | None = None            # first quarter rebuilt ('' = all); set by the scope step
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    release: dict = field(default_factory=dict)  # this publication (metrics.release)

    @property
    def full(self) -> bool:
        return not self.since

    def kept(self, table: str, first: str | None = None) -> pd.DataFrame | None:
        """Rows of `table` this refresh kept from the previous one (quarters before `since`),
        from quarter `first` on (None: all of them); None in a full refresh."""
        if self.full:
            return None
        # while its step runs, a quarterly table's kept rows wait under another name
        waiting = _kept_name(table)
        source = waiting if table_columns(self.con, waiting) is not None else table
        return query_frame(
            self.con,
            f"SELECT * FROM {source} WHERE quarter < ? AND quarter >= ?",
            [self.since, first or ""],
        )

    def indicator_rows(self, earlier: Mapping[str, int | None]) -> pd.DataFrame:
        """marts.indicators as this refresh wrote it, with the kept rows of earlier quarters
        that `earlier` asks for: {indicator: quarters back from `since` (None: all)}."""
        new = self.frames["marts.indicators"]
        if self.full or not earlier:
            return new
        waiting = _kept_name("marts.indicators")
        source = waiting if table_columns(self.con, waiting) is not None else "marts.indicators"
        wanted = " OR ".join(
            f"(indicator = {sql_literal(name)}"
            + ("" if back is None else
               f" AND quarter >= {sql_literal(shift_quarter(self.since, -back))}") + ")"
            for name, back in earlier.items())
        kept = query_frame(self.con, f"SELECT * FROM {source} WHERE quarter < ? AND ({wanted})",
                           [self.since])
        return pd.concat([kept, new], ignore_index=True) if len(kept) else new

    def rows(self, table: str, lookback: int | None = 0) -> pd.DataFrame:
        """A marts table this refresh wrote (from memory), with the kept rows of the `lookback`
        quarters before `since` in front (None: every earlier quarter)."""
        new = self.frames[table]
        if self.full or lookback == 0:
            return new
        first = None if lookback is None else shift_quarter(self.since, -lookback)
        earlier = self.kept(table, first)
        return pd.concat([earlier, new], ignore_index=True) if len(earlier) else new


# --- Python steps ----------------------------------------------------------------------------
# Each returns {marts table: frame}; the runner writes the frames with the declared columns.

def _instrument_step(ctx: Context) -> dict:
    _stage_instrument(ctx.con, ctx.config)
    return {}


def _indicators_step(ctx: Context) -> dict:
    participation = attendance_indicators(ctx.con)
    # every survey figure is decided by the release layer, against what was published before
    publication, ledger = advance_publication(ctx.con, ctx.config, ctx.since)
    released = survey_release(ctx.con, ctx.config, publication, ledger)
    ctx.release = {"publication": publication, "ledger": ledger,
                   "figures": released["figures"]}
    survey = released["indicators"]
    indicators = pd.concat([participation, survey], ignore_index=True)
    units = {"marts.survey_units": released["units"]}
    if ctx.full:
        return {"marts.indicators": add_changes(ctx.con, indicators), **units}
    # change is judged against the previous quarter, kept from the last refresh
    previous = ctx.kept("marts.indicators", shift_quarter(ctx.since, -1))
    context = previous[[c for c in indicators.columns if c in previous.columns]]
    frame = add_changes(ctx.con, pd.concat([context, indicators], ignore_index=True),
                        context_before=ctx.since)
    return {"marts.indicators": frame.iloc[len(context):].reset_index(drop=True), **units}


def _funnel_points_step(ctx: Context) -> dict:
    return {"marts.funnel_points": funnel_points(ctx.rows("marts.indicators"))}


def _shrunken_step(ctx: Context) -> dict:
    return {"marts.shrunken": shrunken_estimates(ctx.rows("marts.indicators"))}


def _flags_step(ctx: Context) -> dict:
    # earlier quarters as far back as each flag looks (flags.EARLIER_QUARTERS): survey limits
    # pool the groups' spread over all quarters, newcomers compare with the trailing quarters,
    # "shrinking" with the two before; and a flag's lifecycle (since when) continues the runs
    # of the flags kept from the last refresh
    return {"marts.flags": build_flags(ctx.con, ctx.indicator_rows(EARLIER_QUARTERS),
                                       kept_flags=ctx.kept("marts.flags"), since=ctx.since)}


def _reliability_step(ctx: Context) -> dict:
    return {"marts.reliability": reliability_table(ctx.con, ctx.config.min_responses)}


def _retention_curve_step(ctx: Context) -> dict:
    return {"marts.retention_curve": retention_curve(ctx.con)}


def _inclusion_step(ctx: Context) -> dict:
    inclusion = pd.concat(
        [attendance_inclusion(ctx.con),
         # survey categories pool the released groups' published statistics only
         inclusion_release(ctx.con, ctx.config, ctx.rows("marts.survey_units"))],
        ignore_index=True
    )
    return {"marts.inclusion": inclusion}


def _comments_step(ctx: Context) -> dict:
    release = ctx.release
    comments, figures = comments_release(ctx.con, ctx.config, release["ledger"],
                                         release["publication"])
    record_figures(ctx.con, pd.concat(
        [release["figures"], pd.DataFrame(figures, columns=release["figures"].columns)],
        ignore_index=True))
    return {"marts.comments": comments}


def python_steps() -> list[Step]:
    """The refresh's Python steps. Adding one is one declaration here: what it reads, the marts
    it writes with their column types, and the function (reading `stage_scope` makes it
    quarterly: it returns rows for quarters >= ctx.since only)."""
    return [
        python_step("instrument", _instrument_step, reads=["core.instrument_items"],
                    writes={"stage_instrument": INSTRUMENT_COLUMNS}),
        python_step("indicators", _indicators_step,
                    reads=["core.groups", "stage_counts", "stage_km", "stage_group_quarters",
                           "stage_survey_units", "stage_survey_responses", "stage_responses",
                           "stage_item_scores", "stage_constructs", "marts.survey_scores",
                           SCOPE_TABLE],
                    writes={"marts.indicators": INDICATOR_SCHEMA,
                            "marts.survey_units": SURVEY_UNITS_SCHEMA}),
        python_step("funnel points", _funnel_points_step,
                    reads=["marts.indicators", SCOPE_TABLE],
                    writes={"marts.funnel_points": FUNNEL_SCHEMA}),
        python_step("shrinkage", _shrunken_step, reads=["marts.indicators", SCOPE_TABLE],
                    writes={"marts.shrunken": SHRUNKEN_SCHEMA}),
        python_step("flags", _flags_step,
                    reads=["marts.indicators", "marts.session_attendance",
                           "marts.watchlist", "stage_group_quarters", SCOPE_TABLE],
                    writes={"marts.flags": FLAGS_SCHEMA}),
        python_step("reliability", _reliability_step,
                    # marts.indicators: after the indicators step froze the answers it reads
                    # (release.item_ledger)
                    reads=["stage_instrument", "marts.indicators", SCOPE_TABLE],
                    writes={"marts.reliability": RELIABILITY_SCHEMA}),
        python_step("retention curve", _retention_curve_step,
                    reads=["stage_memberships", "stage_calendar"],
                    writes={"marts.retention_curve": RETENTION_SCHEMA}),
        python_step("inclusion", _inclusion_step,
                    reads=["stage_inclusion_attendance", "marts.survey_units",
                           "marts.groups", SCOPE_TABLE],
                    writes={"marts.inclusion": INCLUSION_SCHEMA}),
        python_step("comments", _comments_step,
                    # after the indicators step, which moved the release ledger on
                    reads=["stage_survey_responses", "stage_responses", "marts.indicators",
                           SCOPE_TABLE],
                    writes={"marts.comments": COMMENTS_SCHEMA}),
    ]


def refresh_graph() -> list[Step]:
    """Every step, SQL and Python, in the order the refresh runs them (raises GraphError for a
    graph that cannot run)."""
    return order_steps([*sql_steps(), *python_steps()], sources=SOURCE_TABLES)


def mart_tables(steps: list[Step] | None = None) -> tuple[str, ...]:
    """The marts tables the refresh builds (without the schema), in run order."""
    return tuple(t.removeprefix("marts.") for s in (steps or refresh_graph()) for t in s.writes
                 if t.startswith("marts."))


def quarterly_marts(steps: list[Step]) -> set[str]:
    """Marts tables built by quarter: an incremental refresh keeps their earlier rows."""
    return {t for s in steps if s.quarterly for t in s.writes if t.startswith("marts.")}


# --- the runner ------------------------------------------------------------------------------

def _drop_marts(con: duckdb.DuckDBPyConnection) -> None:
    existing = {
        name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
        ).fetchall()
    }
    for name in existing:
        con.execute(f"DROP TABLE marts.{name}")


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """The stage tables."""
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name LIKE 'stage_%' AND table_catalog = 'temp'"
    ).fetchall():
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def settings_fingerprint(con: duckdb.DuckDBPyConnection, config: Config) -> str:
    """What the marts depend on besides the data: the settings the refresh reads, the survey
    thresholds and the instrument answers are scored with. Marts built under other settings
    cannot be refreshed in part."""
    items = con.execute("SELECT * EXCLUDE (text) FROM core.instrument_items ORDER BY ALL"
                        ).fetchall() or sorted(
        (i.item_id, i.construct, i.position, i.scale_min, i.scale_max, i.reverse_keyed,
         i.label_map) for i in load_instrument(config).items)
    settings = (config.time_zone, config.fiscal_year_start_month, config.min_responses,
                config.min_comments, config.pool_quarters, LONELY_TOTAL, WILLING_SCORE,
                REGULAR_SHARE)
    return hashlib.sha256(repr((settings, items)).encode()).hexdigest()[:16]


def _stamp(fingerprint: str) -> str:
    return f"hearth refresh, settings {fingerprint}"


def _can_refresh_part(con: duckdb.DuckDBPyConnection, steps: list[Step], fingerprint: str
                      ) -> bool:
    """Every marts table is there with its declared columns, built under the same settings
    (else a full refresh is needed)."""
    stamp = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' "
                        "AND table_name = 'indicators'").fetchone()
    if stamp != (_stamp(fingerprint),):
        return False
    declared = {t: columns for s in steps for t, columns in s.writes.items()
                if t.startswith("marts.")}
    declared.update({t: tuple(types) for t, (_, types) in KEPT_TABLES.items()})
    return tables_columns(con, declared) == declared


def _ensure_kept(con: duckdb.DuckDBPyConnection) -> None:
    """Empty kept tables where there are none yet, or where an older Hearth left them with other
    columns (a full refresh reads none of their rows, but the SQL that reads them must find
    them with this layout)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS kept")
    for table, (_, types) in KEPT_TABLES.items():
        if table_columns(con, table) not in (None, tuple(types)):
            con.execute(f"DROP TABLE {table}")
        columns = ", ".join(f"{col} {typ}" for col, typ in types.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


def _save_kept(con: duckdb.DuckDBPyConnection) -> None:
    """Keep this refresh's stage tables for the next incremental refresh. Each kept table is
    replaced whole (not emptied and filled: deleted rows would stay in the file until DuckDB
    vacuums it, and the delete itself scans the table)."""
    for table, (stage, types) in KEPT_TABLES.items():
        columns = ", ".join(f"{col}::{typ} AS {col}" for col, typ in types.items())
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} FROM {stage}")


def _set_variable(con: duckdb.DuckDBPyConnection, name: str, literal: str) -> None:
    con.execute(f"SET VARIABLE {name} = {literal}")


def prepare_session(con: duckdb.DuckDBPyConnection, config: Config, since: str | None = None,
                    previous_end=None) -> None:
    """The macros and variables the SQL steps read: the configuration's quarters, time zone and
    pooling, the quarter the new data starts in (None: every quarter) and the data's end at the
    last refresh."""
    install_macros(con, config)
    _set_variable(con, "hearth_requested_since", "NULL::VARCHAR" if since is None else sql_literal(since))
    _set_variable(con, "hearth_previous_data_end",
                  "NULL::DATE" if previous_end is None else f"DATE '{previous_end}'")
    _set_variable(con, "hearth_pool_quarters", "true" if config.pool_quarters else "false")


def _kept_name(table: str) -> str:
    return table + "__kept"


def _run_step(ctx: Context, step: Step, quarterly: set[str]) -> None:
    con = ctx.con
    keeping = [t for t in step.writes if t in quarterly and not ctx.full]
    for table in step.writes:
        if table in keeping:
            # earlier quarters stay as the last refresh left them: the table is set aside (not
            # copied) while the step builds the new quarters, which are then added to it
            con.execute(f"ALTER TABLE {table} RENAME TO {_kept_name(table).split('.')[1]}")
        elif table.startswith("marts."):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    if step.sql is not None:
        try:
            con.execute(step.sql)
        except duckdb.Error as exc:
            raise RuntimeError(f"{step.where}: {exc}") from exc
    else:
        frames = step.run(ctx) or {}
        for table, frame in frames.items():
            missing = [c for c in step.writes[table] if c not in frame.columns]
            if missing:
                raise GraphError(f"{step.where}: its rows for {table} lack the declared column"
                                 f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                                 "make the step and its declared columns agree")
            if table in keeping:
                frame = frame[frame["quarter"] >= ctx.since].reset_index(drop=True)
            ctx.frames[table] = frame
            write_table(con, table.removeprefix("marts."), frame, step.types[table])
    if SCOPE_TABLE in step.writes:
        ctx.since = con.execute(f"SELECT since FROM {SCOPE_TABLE}").fetchone()[0]
    check_outputs(con, step)
    for table in keeping:
        kept = _kept_name(table)
        since = sql_literal(ctx.since)
        con.execute(f"DELETE FROM {kept} WHERE quarter >= {since}")
        con.execute(f"INSERT INTO {kept} SELECT * FROM {table} WHERE quarter >= {since}")
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {kept} RENAME TO {table.split('.')[1]}")


def refresh(
    con: duckdb.DuckDBPyConnection, config: Config, timings: dict[str, float] | None = None,
    since: str | None = None,
) -> dict[str, int]:
    """Rebuild the marts tables from core; returns {table: rows}.

    `since` (a quarter label such as "2025Q3"): new data starts in that quarter, so only it,
    the quarters after it and the earlier ones that depend on them are rebuilt (see the module
    docstring); None rebuilds everything. An incremental refresh gives the same marts as a full
    one. `timings`, when given, is filled with seconds per step (for the benchmark).
    """
    if since is not None:
        try:
            parse_quarter(since)
        except ValueError as exc:
            raise HearthError(f"refresh: {since!r} is not a quarter; give one like 2025Q3") \
                from exc
    steps = refresh_graph()
    quarterly = quarterly_marts(steps)
    con.execute("BEGIN TRANSACTION")
    try:
        fingerprint = settings_fingerprint(con, config)
        if since is not None and not _can_refresh_part(con, steps, fingerprint):
            since = None  # nothing (or an older layout) to build on: rebuild everything
        previous_end = None
        if since is not None:
            previous_end = con.execute(
                "SELECT max(session_date) FROM marts.session_attendance").fetchone()[0]
        prepare_session(con, config, since, previous_end)
        if since is None:
            _drop_marts(con)
        _ensure_kept(con)
        ctx = Context(con, config)
        for step in steps:
            started = time.perf_counter()
            _run_step(ctx, step, quarterly)
            if timings is not None:
                timings[step.where.removeprefix("metrics/sql/")] = \
                    time.perf_counter() - started
        _save_kept(con)
        _drop_stage(con)
        # which settings these marts were built under (an incremental refresh checks it)
        con.execute(f"COMMENT ON TABLE marts.indicators IS {sql_literal(_stamp(fingerprint))}")
        # (one query for every table: a query costs milliseconds even on a tiny warehouse)
        counts = dict(con.execute(" UNION ALL ".join(
            f"SELECT {sql_literal(name)}, count(*) FROM marts.{name}"
            for name in mart_tables(steps))).fetchall())
        counts = {name: counts[name] for name in mart_tables(steps)}
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def touched_since(con: duckdb.DuckDBPyConnection, config: Config, load_ids: list[int]
                  ) -> str | None:
    """The first quarter the rows of these loads touch, for `refresh(since=...)`.

    Attendance and sessions by session date, buddy check-ins by their local date, survey
    responses by the quarter they count in, memberships from their joining date, and new
    members from the first session they hosted or the first membership they hold. A load of
    groups (every quarter's breakdowns) needs a full refresh: None.
    """
    if not load_ids:
        return None
    ids = ", ".join(str(int(i)) for i in load_ids)
    install_macros(con, config)
    if con.execute(f"SELECT count(*) FROM core.groups WHERE load_id IN ({ids})").fetchone()[0]:
        return None
    first_dates = [
        f"SELECT min(session_date) FROM core.sessions WHERE load_id IN ({ids})",
        f"SELECT min(s.session_date) FROM core.attendance a JOIN core.sessions s "
        f"USING (session_id) WHERE a.load_id IN ({ids})",
        f"SELECT min(local_date(checked_in_at)) FROM core.buddy_checkins "
        f"WHERE load_id IN ({ids})",
        f"SELECT min(joined_on) FROM core.memberships WHERE load_id IN ({ids})",
        # a new member's name shows where they hosted and where they are on a roster
        f"SELECT least(min(s.session_date), min(m.joined_on)) FROM core.members n "
        f"LEFT JOIN core.sessions s ON s.host_member_id = n.member_id "
        f"LEFT JOIN core.memberships m ON m.member_id = n.member_id "
        f"WHERE n.load_id IN ({ids})",
    ]
    quarters = [con.execute(f"SELECT quarter_of(({sql}))").fetchone()[0] for sql in first_dates]
    # a response counts in the quarter its survey names, else in its submission's quarter
    quarters.append(con.execute(
        f"""SELECT min(CASE WHEN regexp_full_match(upper(trim(survey_id)), '\\d{{4}}Q[1-4]')
                           THEN upper(trim(survey_id))
                           ELSE quarter_of(local_date(submitted_at)) END)
            FROM core.survey_responses WHERE load_id IN ({ids})"""
    ).fetchone()[0])
    found = [q for q in quarters if q is not None]
    return min(found) if found else None


INSTRUMENT_COLUMNS = ("item_id", "construct", "position", "text", "scale_min", "scale_max",
                      "reverse_keyed", "label_map")
INDICATOR_SCHEMA = {
    "quarter": "VARCHAR", "group_id": "VARCHAR", "indicator": "VARCHAR", "value": "DOUBLE",
    "n": "BIGINT", "ci_low": "DOUBLE", "ci_high": "DOUBLE", "status": "VARCHAR",
    "delta": "DOUBLE", "verdict": "VARCHAR", "p_adjusted": "DOUBLE", "pooled": "BOOLEAN",
    "hits": "DOUBLE", "target": "DOUBLE", "note": "VARCHAR", "p_value": "DOUBLE",
    "test": "VARCHAR",
}
FUNNEL_SCHEMA = {
    "quarter": "VARCHAR", "indicator": "VARCHAR", "group_id": "VARCHAR", "value": "DOUBLE",
    "n": "BIGINT", "target": "DOUBLE", "lo95": "DOUBLE", "hi95": "DOUBLE", "lo998": "DOUBLE",
    "hi998": "DOUBLE", "outside": "VARCHAR", "phi": "DOUBLE",
}
SHRUNKEN_SCHEMA = {
    "quarter": "VARCHAR", "indicator": "VARCHAR", "group_id": "VARCHAR", "raw_value": "DOUBLE",
    "n": "BIGINT", "estimate": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
    "rank": "INTEGER",
}
FLAGS_SCHEMA = {
    "quarter": "VARCHAR", "group_id": "VARCHAR", "flag": "VARCHAR", "reason": "VARCHAR",
    "evidence": "VARCHAR", "since": "VARCHAR", "state": "VARCHAR", "quarters": "INTEGER",
}
RELIABILITY_SCHEMA = {
    "quarter": "VARCHAR", "construct": "VARCHAR", "policy": "VARCHAR", "alpha": "DOUBLE",
    "ci_low": "DOUBLE", "ci_high": "DOUBLE", "n": "BIGINT", "n_items": "INTEGER",
    "warning": "BOOLEAN",
}
RETENTION_SCHEMA = {
    "days": "INTEGER", "at_risk": "BIGINT", "events": "BIGINT", "survival": "DOUBLE",
    "ci_low": "DOUBLE", "ci_high": "DOUBLE",
}
INCLUSION_SCHEMA = {
    "quarter": "VARCHAR", "dimension": "VARCHAR", "category": "VARCHAR", "indicator": "VARCHAR",
    "value": "DOUBLE", "n": "BIGINT", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
    "status": "VARCHAR",
}
SURVEY_UNITS_SCHEMA = {
    "quarter": "VARCHAR", "group_id": "VARCHAR", "indicator": "VARCHAR", "n": "BIGINT",
    "sum_score": "DOUBLE", "sum_sq": "DOUBLE", "hits": "DOUBLE",
}
COMMENTS_SCHEMA = {"quarter": "VARCHAR", "group_id": "VARCHAR", "comment": "VARCHAR"}


#: Every marts table `refresh` builds, in the order it builds them.
MART_TABLES = mart_tables()


def main(argv: list[str]) -> int:
    """`python -m metrics.refresh graph`: the refresh graph as a Mermaid flowchart."""
    if argv != ["graph"]:
        sys.stderr.write("usage: python -m metrics.refresh graph\n")
        return 2
    sys.stdout.write(mermaid(refresh_graph()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
