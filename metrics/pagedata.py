"""Page tables: the dashboard's slowest frames, computed once per publish inside each snapshot.

A page's first view after a publish used to compute, from the marts, frames that are the same
for every viewer of that snapshot: the quarter list (a scan of every indicator row), the groups
in natural name order (a sort by regular expressions), Compare's "needs attention" order and
its roll-ups, the review's "going well". At 10,000 groups these cost most of a page's 150 ms.
`write` computes them with the read layer's own functions (metrics.api's ``*_computed``,
metrics.going_well.going_well_computed) **on the finished snapshot of one audience**, before it
is swapped in (hearth.warehouse.publish's ``finish`` hook; hearth.orchestrate passes it), so a
page table holds exactly what the page would have computed from that snapshot: only figures
the snapshot already releases, for that audience. The readers (api.quarters, groups_by_name,
attention, rollup; going_well.going_well) use a table when the snapshot has it and was built
under the same k, and compute as before otherwise (the CLI reads the warehouse, which has none).

    pages.built       the k and the quarters the tables were built for
    pages.quarters    quarters with data (api.quarters)
    pages.program     the program's rows of marts.indicators (api.program_indicators)
    pages.group_order each group's natural-order ranks (api.group_order_computed)
    pages.group_medians per quarter and indicator: the groups' median and spread
    pages.attention   per quarter and group: flags, limits, falls, why, concern, the whole
                      program's order and names (api.attention_computed)
    pages.rollup      per quarter, dimension, category and indicator: the pooled figure (whole
                      program; group_ids are listed from marts.groups when read)
    pages.going_well  per quarter: the recognitions of the whole program, in order
    pages.group_counts per quarter, group and indicator a selection pools from counts: the
                      counts it sums (api.GROUP_COUNTS_SQL; written by SQL, not through pandas)

`differences` recomputes every table from the snapshot and names any that differ: `hearth
privacy-check` runs it on every audience's snapshot, so a page table can never carry a survey
figure the read layer would not give that audience.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import pandas as pd

from hearth.config import Config
from hearth.warehouse import PAGE_TABLES
from metrics import api, going_well
from metrics.anonymity import is_missing

#: (The dashboard's roll-up dimensions, every one: the page offers them all.)
DIMENSIONS = tuple(api.ROLLUP_DIMENSIONS)


def frames(con: duckdb.DuckDBPyConnection, config: Config) -> dict[str, pd.DataFrame]:
    """Every page table of the snapshot open on ``con``, computed from its marts."""
    if not api.quarters(con):  # nothing loaded yet: the pages compute their empty frames
        return {}
    quarters = api.quarters_computed(con)
    out: dict[str, pd.DataFrame] = {
        "pages.built": pd.DataFrame({"k": [config.min_responses],
                                     "quarters": [quarters]}),
        "pages.quarters": pd.DataFrame({"quarter": pd.Series(quarters, dtype=object)}),
        "pages.program": con.execute(
            "SELECT * FROM marts.indicators WHERE group_id IS NULL ORDER BY indicator, quarter"
        ).df(),
        "pages.group_order": api.group_order_computed(con),
    }
    names = api.groups(con)[["group_id", "name"]]
    attention, rollup, well, medians = [], [], [], []
    # every quarter's order and roll-ups by one dimension from one query of each kind
    rollups = {dimension: api.rollups_computed(con, quarters, config, dimension)
               for dimension in DIMENSIONS}
    attentions = api.attentions_computed(con, quarters)
    medians_by_quarter = api.groups_medians_computed(con, quarters)
    wells = going_well.going_wells_computed(con, quarters, config)
    for quarter in quarters:
        frame = attentions[quarter]
        attention.append(frame.merge(names, on="group_id", how="left").assign(
            quarter=quarter, position=range(len(frame))))
        found_medians = medians_by_quarter[quarter]
        medians.append(found_medians.assign(quarter=quarter,
                                            position=range(len(found_medians))))
        for dimension in DIMENSIONS:
            rolled = rollups[dimension][quarter]
            rollup.append(rolled.drop(columns=["group_ids"]).assign(
                quarter=quarter, dimension=dimension, position=range(len(rolled))))
        found = wells[quarter]
        items = [("groups", g) for g in found["groups"]] + \
                [("program", p) for p in found["program"]]
        well += [{"quarter": quarter, "section": section, "position": position,
                  **{f: item.get(f) for f in going_well.GOING_WELL_FIELDS}}
                 for position, (section, item) in enumerate(items)]
    columns = ["quarter", "position", "name", *api.ATTENTION_COLUMNS]
    out["pages.attention"] = pd.concat(attention, ignore_index=True)[columns] if attention \
        else pd.DataFrame(columns=columns)
    rollup_columns = ["quarter", "dimension", "position",
                      *[c for c in api.ROLLUP_COLUMNS if c != "group_ids"]]
    out["pages.rollup"] = pd.concat(rollup, ignore_index=True)[rollup_columns] if rollup \
        else pd.DataFrame(columns=rollup_columns)
    median_columns = ["quarter", "position", "indicator", "median", "spread"]
    out["pages.group_medians"] = pd.concat(medians, ignore_index=True)[median_columns] \
        if medians else pd.DataFrame(columns=median_columns)
    out["pages.going_well"] = pd.DataFrame(
        well, columns=["quarter", "section", "position", *going_well.GOING_WELL_FIELDS],
        dtype=object)
    return out


# Column types of the tables (frames built from lists of Python values leave DuckDB guessing)
TYPES = {
    "pages.built": {"k": "INTEGER", "quarters": "VARCHAR[]"},
    "pages.quarters": {"quarter": "VARCHAR"},
    "pages.attention": {"quarter": "VARCHAR", "position": "INTEGER", "group_id": "VARCHAR",
                        "name": "VARCHAR", "group_name": "VARCHAR"},
    "pages.group_medians": {"quarter": "VARCHAR", "position": "INTEGER", "indicator": "VARCHAR",
                            "median": "DOUBLE", "spread": "DOUBLE"},
    "pages.rollup": {"quarter": "VARCHAR", "dimension": "VARCHAR", "category": "VARCHAR",
                     "indicator": "VARCHAR", "status": "VARCHAR", "note": "VARCHAR",
                     "value": "DOUBLE", "n": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE"},
    "pages.going_well": {"quarter": "VARCHAR", "section": "VARCHAR", "position": "INTEGER",
                         **{f: "VARCHAR" for f in going_well.GOING_WELL_FIELDS}},
}


#: Page tables written by DuckDB straight from the snapshot's marts: copies of marts rows too
#: many to pass through a frame (550,000 at 10,000 groups), each its reader's own query.
SQL_TABLES = {"pages.group_counts": f"{api.GROUP_COUNTS_SQL} ORDER BY quarter, group_id, indicator"}


#: The snapshot tables the page tables are computed from.
SOURCES = ("marts.indicators", "marts.groups", "marts.flags", "marts.funnel_points",
           "marts.shrunken", "marts.survey_units")


def sources(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Which of SOURCES the snapshot holds (the council's has no flags)."""
    return frozenset(t for t in SOURCES if api._has_table(con, *t.split(".")))


def write(con: duckdb.DuckDBPyConnection, audience: str, config: Config | None = None,
          found: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Write every page table into the snapshot open (read-write) on ``con``: publish's
    ``finish`` hook. ``audience`` only names the snapshot: the tables come from what it holds.
    ``found``: the frames, when already computed from an identical snapshot. Returns them."""
    config = config or Config()
    found = frames(con, config) if found is None else found
    unknown = set(found) - set(PAGE_TABLES)
    if unknown:  # the kernel's list is what `hearth privacy-check` allows in a snapshot
        raise ValueError(f"page tables not listed in hearth.warehouse.PAGE_TABLES: {unknown}")
    if found:
        con.execute("CREATE SCHEMA IF NOT EXISTS pages")
    for table, frame in found.items():
        types = TYPES.get(table, {})
        select = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' if c in types else f'"{c}"'
                           for c in frame.columns)
        con.register("page_frame", frame)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {select} FROM page_frame")
        finally:
            con.unregister("page_frame")
    if found:
        for table, sql in SQL_TABLES.items():
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
    return found


def finisher(config: Config):
    """publish's ``finish`` hook writing the page tables under ``config``. The snapshots of one
    publish copy the same warehouse, so two holding the same source tables (the lead's and the
    coach's) get the same frames: computed once (`hearth privacy-check` still recomputes each)."""
    computed: dict[frozenset[str], dict[str, pd.DataFrame]] = {}

    def finish(con: duckdb.DuckDBPyConnection, audience: str) -> None:
        held = sources(con)
        computed[held] = write(con, audience, config, computed.get(held))
    return finish


def differences(con: duckdb.DuckDBPyConnection, config: Config) -> list[str]:
    """Page tables of the snapshot open on ``con`` that differ from what the read layer computes
    from the snapshot's own marts now: "pages.rollup: 3 row(s) differ" each. Empty when the
    snapshot has no page tables, or they were built under another k (then no page reads them)."""
    if not api.page_table(con, "built", config):
        return []
    problems = []
    for table, expected in frames(con, config).items():
        if not api._has_table(con, *table.split(".")):
            problems.append(f"{table} is missing")
            continue
        columns = list(expected.columns)
        stored = con.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} "
                             f"FROM {table}").fetchall()
        want = list(expected.itertuples(index=False, name=None))
        differ = _differ(stored, want)
        if differ:
            problems.append(f"{table}: {differ} row(s) differ from what the read layer "
                            "computes from this snapshot")
    for table, sql in SQL_TABLES.items():
        if not api._has_table(con, *table.split(".")):
            problems.append(f"{table} is missing")
            continue
        (differ,) = con.execute(
            f"SELECT count(*) FROM ((FROM {table} EXCEPT ALL ({sql})) "
            f"UNION ALL (({sql}) EXCEPT ALL FROM {table}))").fetchone()
        if differ:
            problems.append(f"{table}: {differ} row(s) differ from what the read layer "
                            "computes from this snapshot")
    return problems


def _differ(stored: list[tuple], want: list[tuple]) -> int:
    """How many rows are in one list and not the other (as multisets, values normalised)."""
    a = Counter(tuple(_normal(v) for v in row) for row in stored)
    b = Counter(tuple(_normal(v) for v in row) for row in want)
    return sum(((a - b) + (b - a)).values())


def _normal(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(_normal(v) for v in value)
    if is_missing(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


__all__ = ["DIMENSIONS", "differences", "finisher", "frames", "write"]
