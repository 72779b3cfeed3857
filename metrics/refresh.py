"""`hearth refresh`: rebuild every marts table from core, in one transaction.

The set-based work is SQL, one file per step under metrics/sql/, run in name order by `run_sql`.
Those files leave small staging tables (TEMP, prefixed `stage_`) of per-group-per-quarter
counts; the Python steps then add what SQL is awkward for (intervals, tests, shrinkage,
anonymity) on those small frames and write the remaining marts tables. Raw attendance events
never leave DuckDB.

If anything fails the transaction rolls back and the previous marts stay as they were.
"""

from __future__ import annotations

import time
from importlib import resources

import duckdb
import pandas as pd
import pyarrow as pa

from hearth.calendar import quarter_end_sql, quarter_sql, quarter_start_sql
from hearth.config import Config
from hearth.instrument import load_instrument
from metrics.change import add_changes, funnel_points, shrunken_estimates
from metrics.flags import build_flags
from metrics.participation import attendance_inclusion, attendance_indicators
from metrics.scoring import (
    comments_table,
    reliability_table,
    retention_curve,
    survey_inclusion,
    survey_indicators,
)

#: Every table `refresh` builds, in the contract's names.
MART_TABLES = (
    "groups", "session_attendance", "watchlist", "participation_funnel", "survey_scores",
    "freshness", "indicators", "flags", "reliability", "retention_curve", "funnel_points",
    "shrunken", "inclusion", "comments",
)


def sql_steps() -> list[tuple[str, str]]:
    """(file name, SQL) of every step under metrics/sql/, in the order they run."""
    folder = resources.files("metrics") / "sql"
    steps = [(f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir()
             if f.name.endswith(".sql")]
    return sorted(steps)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def install_macros(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """The quarter and local-date macros the SQL steps use, built from the configuration."""
    month = config.fiscal_year_start_month
    con.execute(f"CREATE OR REPLACE TEMP MACRO quarter_of(d) AS {quarter_sql('d', month)}")
    con.execute(f"CREATE OR REPLACE TEMP MACRO quarter_start(q) AS {quarter_start_sql('q', month)}")
    con.execute(f"CREATE OR REPLACE TEMP MACRO quarter_end(q) AS {quarter_end_sql('q', month)}")
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO local_date(ts) AS "
        f"timezone({_quote(config.time_zone)}, ts)::DATE"
    )


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


def run_sql(con: duckdb.DuckDBPyConnection, timings: dict[str, float] | None = None) -> None:
    """Run every SQL step in order (macros and stage_instrument must be in place)."""
    for name, sql in sql_steps():
        started = time.perf_counter()
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            raise RuntimeError(f"metrics/sql/{name}: {exc}") from exc
        if timings is not None:
            timings[name] = time.perf_counter() - started


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


def _drop_marts(con: duckdb.DuckDBPyConnection) -> None:
    existing = {
        name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
        ).fetchall()
    }
    for name in existing:
        con.execute(f"DROP TABLE marts.{name}")


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name LIKE 'stage_%' AND table_catalog = 'temp'"
    ).fetchall():
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def refresh(
    con: duckdb.DuckDBPyConnection, config: Config, timings: dict[str, float] | None = None
) -> dict[str, int]:
    """Rebuild every marts table from core; returns {table: rows}.

    `timings`, when given, is filled with seconds per step (for the benchmark).
    """
    def step(name, fn, *args):
        started = time.perf_counter()
        result = fn(*args)
        if timings is not None:
            timings[name] = time.perf_counter() - started
        return result

    con.execute("BEGIN TRANSACTION")
    try:
        install_macros(con, config)
        _stage_instrument(con, config)
        _drop_marts(con)
        run_sql(con, timings)

        participation = step("py: attendance indicators", attendance_indicators, con)
        survey = step("py: survey indicators", survey_indicators, con, config)
        indicators = pd.concat([participation, survey], ignore_index=True)
        indicators = step("py: change", add_changes, con, indicators)
        write_table(con, "indicators", indicators, INDICATOR_SCHEMA)

        points = step("py: funnel points", funnel_points, indicators)
        write_table(con, "funnel_points", points, FUNNEL_SCHEMA)
        shrunk = step("py: shrinkage", shrunken_estimates, indicators)
        write_table(con, "shrunken", shrunk, SHRUNKEN_SCHEMA)

        flags = step("py: flags", build_flags, con, indicators, points)
        write_table(con, "flags", flags, FLAGS_SCHEMA)

        write_table(con, "reliability", step("py: reliability", reliability_table, con),
                    RELIABILITY_SCHEMA)
        write_table(con, "retention_curve", step("py: retention curve", retention_curve, con),
                    RETENTION_SCHEMA)
        inclusion = pd.concat(
            [attendance_inclusion(con),
             # (pooled figures span two quarters: a category of one quarter can't build on them)
             survey_inclusion(con, config, survey[~survey["pooled"].astype(bool)])],
            ignore_index=True
        )
        write_table(con, "inclusion", inclusion, INCLUSION_SCHEMA)
        write_table(con, "comments", comments_table(con, config), COMMENTS_SCHEMA)

        _drop_stage(con)
        counts = {
            name: con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0]
            for name in MART_TABLES
        }
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


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
    "evidence": "VARCHAR",
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
COMMENTS_SCHEMA = {"quarter": "VARCHAR", "group_id": "VARCHAR", "comment": "VARCHAR"}
