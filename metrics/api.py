"""Read the indicators: small frames and dicts for the CLI and the dashboard (no SQL in pages).

Every function takes an open DuckDB connection (the warehouse, or the dashboard's read-only
published copy) and reads only the marts tables that `hearth refresh` builds.

Quarters
    quarters(con) -> list[str]                         quarters with data, oldest first
    latest_quarter(con) -> str | None
    resolve_quarter(con, quarter=None) -> str          None -> latest; unknown -> HearthError
The quarterly review
    review(con, quarter, config, group_ids=None) -> dict   the `hearth review --json` structure
    review_and_flags(con, quarter, config, group_ids=None) -> (dict, [dict])   the same and
                                                       the quarter's flags_records, read once
    indicator_object(row, config) -> dict              {value, n, ci_low, ci_high, status, change, note}
    slice_indicators(con, quarter, config, group_ids) -> dict   figures for a filtered set of
                                                       groups, survey ones via anonymity.slice_of_shown_groups
    rollup(con, quarter, config, dimension, group_ids=None) -> DataFrame   the same per coach,
                                                       modality, language, time-zone band or cohort
Coaching
    flags(con, quarter, group_ids=None) -> DataFrame   quarter, group_id, flag, reason, evidence,
                                                      since, state, quarters
    flags_records(con, quarter, group_ids=None) -> list[dict]   the same, evidence parsed
    groups_in_quarter(con, quarter) -> int             groups with figures (the chance rate's size)
    watchlist(con, quarter, group_id=None) -> DataFrame   member-level: coaches only
Tables for pages
    groups(con) -> DataFrame
    indicators(con, quarter=None, group_ids=None, indicator=None) -> DataFrame
    trend(con, indicator, group_id=None) -> DataFrame  one indicator over quarters
    program_indicators(con, quarter=None) -> DataFrame   the program's rows (group_id NULL)
    movements(con, quarter, group_ids=None) -> DataFrame  groups moved / clearly changed
    funnel(con, quarter, indicator, group_ids=None) -> DataFrame   funnel-plot points, limits
    shrunken(con, quarter, indicator, group_ids=None) -> DataFrame   empirical-Bayes, ranked
    session_attendance(con, group_id, quarter=None) -> DataFrame
    participation_funnel(con, quarter=None) -> DataFrame
    retention_curve(con) -> DataFrame
    inclusion(con, quarter, dimension=None) -> DataFrame
    reliability(con, quarter=None) -> DataFrame
    comments(con, quarter, group_id=None) -> DataFrame   plain text, never Markdown/HTML
    selection_comments(con, quarter, group_ids) -> (DataFrame, [group_id])   released group
                                                       lists of a selection, and who is left out
    freshness(con) -> DataFrame

The review and flags commands read finished figures, so this module imports neither pandas nor
scipy: the review is built from plain rows, and frames come from DuckDB (through Arrow: `metrics.frames`) only
for the functions that return one. Pooling a selection computes intervals, so it imports
metrics.release and metrics.statistics when it runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import duckdb

from hearth.calendar import previous_quarter
from hearth.config import Config
from hearth.errors import HearthError
from metrics.anonymity import (
    POOLED_LABEL,
    SUPPRESSED_LABEL,
    is_missing,
    public_indicator,
    slice_of_shown_groups,
)
from metrics.definitions import BY_KEY, REVIEW_KEYS, SURVEY_KEYS
from metrics.frames import query_frame
from metrics.presentation import CANT_TELL

if TYPE_CHECKING:
    import pandas as pd

    from metrics.anonymity import SliceDecision


#: The tables of the snapshot a caller is reading, when it already knows them: the dashboard
#: caches them per snapshot and sets this around each read (dashboard.queries.cursor), and
#: _has_table then looks a table up here instead of asking the catalog, which cost a cold
#: page 1.6 ms per question, ten questions a page. None (the CLI): ask the catalog.
KNOWN_TABLES: ContextVar[frozenset[str] | None] = ContextVar("hearth_known_tables",
                                                             default=None)


@contextmanager
def tables_known(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Reads inside this block take the connection's tables from one question to the catalog
    (KNOWN_TABLES) instead of one per check: `hearth review` checks three or four tables, and
    each check cost ~2% of the command's start-up budget. For a connection nothing writes to
    while the block runs."""
    rows = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                       "WHERE database_name = current_database()").fetchall()
    token = KNOWN_TABLES.set(frozenset(f"{s}.{t}" for s, t in rows))
    try:
        yield
    finally:
        KNOWN_TABLES.reset(token)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether this snapshot holds the table (each audience's snapshot holds only its own)."""
    known = KNOWN_TABLES.get()
    if known is not None:
        return f"{schema}.{table}" in known
    # (duckdb_tables(), not information_schema: a page asks this for every read, and the
    # information schema's view cost ~10 ms a time under load, the table function under 1;
    # nor con.table(): a missing table falls back to Python's replacement scans, which find
    # this module's function of the same name)
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, table],
    ).fetchone()[0])


def page_table(con: duckdb.DuckDBPyConnection, name: str, config: Config | None = None) -> bool:
    """Whether the snapshot holds the page table ``pages.<name>`` (metrics.pagedata writes them
    at publish), built under this config's k when a config is given: a page reads it instead
    of computing the same frame from the marts. A warehouse (the CLI) has none."""
    if not _has_table(con, "pages", name):
        return False
    if config is None:
        return True
    built = con.execute("SELECT k FROM pages.built").fetchone()
    return built is not None and built[0] == config.min_responses


def _has_marts(con: duckdb.DuckDBPyConnection) -> bool:
    return _has_table(con, "marts", "indicators")


def _require_marts(con: duckdb.DuckDBPyConnection) -> None:
    if not _has_marts(con):
        raise HearthError(
            "the warehouse has no indicators yet; load data with `hearth ingest` or run "
            "`hearth refresh`"
        )


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN/NA -> None, numpy -> Python (a numpy scalar comes from a frame,
    so numpy is loaded already; plain rows hold Python values)."""
    if value is None or isinstance(value, str | int):  # most cells (bool is an int): as they are
        return value
    if type(value) is float:  # the others, in plain rows: only NaN to clean (checked first, as
        return None if value != value else value  # is_missing costs the review ~3 ms)
    if is_missing(value):
        return None
    if type(value).__module__ == "numpy":
        value = value.item()
    return float(value) if isinstance(value, float) else value


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence = ()) -> list[dict]:
    """Rows as dicts of Python values: the review reads a few hundred rows, and building them
    without a frame keeps pandas out of the CLI's read commands."""
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _where_groups(group_ids: Iterable[str] | None, column: str = "group_id") -> tuple[str, list]:
    if group_ids is None:
        return "", []
    ids = list(group_ids)
    return f" AND {column} IN (SELECT unnest(?::VARCHAR[]))", [ids]


# --- quarters ---------------------------------------------------------------------------------

def quarters(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Quarters with sessions or survey responses, oldest first."""
    return _quarters(con) if _has_marts(con) else []


def _quarters(con: duckdb.DuckDBPyConnection) -> list[str]:
    if page_table(con, "quarters"):  # written at publish (metrics.pagedata): no scan of marts
        return [q for (q,) in con.execute(
            "SELECT quarter FROM pages.quarters ORDER BY quarter").fetchall()]
    return quarters_computed(con)


def quarters_computed(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The quarter list from marts.indicators itself (what pages.quarters holds)."""
    rows = con.execute(
        # (marts.indicators has a row for every quarter with sessions or responses; the
        # council's snapshot has no session table)
        "SELECT DISTINCT quarter FROM marts.indicators ORDER BY quarter"
    ).fetchall()
    return [q for (q,) in rows]


def review_quarter(con: duckdb.DuckDBPyConnection, listed: Sequence[str]) -> str | None:
    """The quarter a review opens on, among ``listed``: the latest with at least half the
    program's typical (median) number of sessions, so a quarter that has only just begun is
    not what a lead lands on; the latest listed when no quarter has sessions. One row from
    DuckDB: the program's frame cost a cold page 15 ms to read for this one answer."""
    if not listed:
        return None
    table = "pages.program" if page_table(con, "program") else "marts.indicators"
    found = con.execute(
        f"WITH held AS (SELECT quarter, value FROM {table} WHERE group_id IS NULL "
        "AND indicator = 'sessions_held' AND value IS NOT NULL "
        "AND quarter IN (SELECT unnest(?::VARCHAR[]))) "
        "SELECT max(quarter) FILTER (WHERE value >= (SELECT median(value) FROM held) / 2) "
        "FROM held", [list(listed)]).fetchone()
    return str(found[0]) if found and found[0] is not None else listed[-1]


def latest_quarter(con: duckdb.DuckDBPyConnection) -> str | None:
    found = quarters(con)
    return found[-1] if found else None


def resolve_quarter(con: duckdb.DuckDBPyConnection, quarter: str | None = None) -> str:
    """The quarter asked for, or the latest with data; HearthError naming the ones available."""
    _require_marts(con)
    available = _quarters(con)
    if not available:
        raise HearthError("the warehouse holds no sessions or survey responses yet; "
                          "load some with `hearth ingest`")
    if quarter is None:
        return available[-1]
    label = str(quarter).strip().upper()
    if label not in available:
        raise HearthError(
            f"no data for quarter {quarter!r}; quarters available: {', '.join(available)}"
        )
    return label


# --- the review -------------------------------------------------------------------------------

def indicator_object(row: dict | pd.Series, config: Config) -> dict[str, Any]:
    """One marts.indicators row as {value, n, ci_low, ci_high, status, change, note}.

    Survey figures go through anonymity.public_indicator once more, so nothing suppressed in
    the warehouse can leak here: suppressed objects carry no value, interval or n.
    """
    r = {k: _clean(v) for k, v in dict(row).items()}
    key = r["indicator"]
    change = {"delta": r.get("delta"), "verdict": r.get("verdict") or CANT_TELL,
              "p_adjusted": r.get("p_adjusted")}
    if key in SURVEY_KEYS:
        shown = public_indicator(
            r.get("value"), r.get("n"), r.get("ci_low"), r.get("ci_high"),
            config.min_responses, enough_data=r.get("status") != "insufficient",
            hidden=r.get("status") == "suppressed", pooled=bool(r.get("pooled")),
        )
        note = r.get("note") if shown["status"] == "suppressed" and r.get("note") \
            else shown["label"]
        if shown["status"] != "ok" or shown["pooled"]:
            change = {"delta": None, "verdict": CANT_TELL, "p_adjusted": None}
        return {"value": shown["value"], "n": shown["n"], "ci_low": shown["ci_low"],
                "ci_high": shown["ci_high"], "status": shown["status"], "change": change,
                "note": note}
    status = r.get("status") or "insufficient"
    if status != "ok":
        change = {"delta": None, "verdict": CANT_TELL, "p_adjusted": None}
    return {
        "value": r.get("value") if status == "ok" else None,
        "n": r.get("n"),
        "ci_low": r.get("ci_low") if status == "ok" else None,
        "ci_high": r.get("ci_high") if status == "ok" else None,
        "status": status,
        "change": change,
        "note": r.get("note") if status != "ok" else (
            f"target {r['target']:.0f}" if key == "sessions_held" and r.get("target") is not None
            else None),
    }


def _missing_object(key: str, config: Config) -> dict[str, Any]:
    if key in SURVEY_KEYS:
        return indicator_object({"indicator": key, "n": 0, "status": "suppressed"}, config)
    return {"value": None, "n": 0, "ci_low": None, "ci_high": None, "status": "insufficient",
            "change": {"delta": None, "verdict": CANT_TELL, "p_adjusted": None},
            "note": "no data this quarter"}


def _copies(objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fresh copies of indicator objects, their `change` included (the rest is scalars)."""
    return {key: {**obj, "change": dict(obj["change"])} for key, obj in objects.items()}


def review(
    con: duckdb.DuckDBPyConnection, quarter: str | None, config: Config,
    group_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The quarterly review: program KPIs and per-group indicators, each with its change.

    Structure: {quarter, previous_quarter, k, program: {indicators: {key: object}},
    groups: {group_id: {name, modality, language, coach, cohort, size, size_band (roster now),
    sessions_expected (by the cadence), active_band (active members this quarter against the
    8-12 band), flags: [...], indicators: {key: object}}}, reliability: [...],
    selection (only with group_ids): slice_indicators(...)}.
    """
    return review_and_flags(con, quarter, config, group_ids)[0]


def review_and_flags(
    con: duckdb.DuckDBPyConnection, quarter: str | None, config: Config,
    group_ids: Sequence[str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """review() and the quarter's flags_records(), which the review reads for its flag names:
    `hearth review` shows each flag's reason too, and reading them again cost it a table check
    and a query."""
    q = resolve_quarter(con, quarter)
    rows = _records(con, "SELECT * FROM marts.indicators WHERE quarter = ? "
                         "ORDER BY group_id NULLS FIRST, indicator", [q])
    if group_ids is not None:
        wanted = set(group_ids)
        rows = [r for r in rows if r["group_id"] is None or r["group_id"] in wanted]
    # Every group starts from the same "no data" objects: built once (each through the
    # anonymity check, ~10 us), then copied per group (the groups' objects stay their own).
    blank = {key: _missing_object(key, config) for key in REVIEW_KEYS}
    program = _copies(blank)
    groups_out: dict[str, dict] = {}
    info = {r["group_id"]: r for r in _records(con, "SELECT * FROM marts.groups")}
    flags_by_group: dict[str, list[str]] = {}
    flag_records = flags_records(con, q, group_ids)
    for flag in flag_records:
        if flag["state"] != "resolved":  # (raised flags only)
            flags_by_group.setdefault(flag["group_id"], []).append(flag["flag"])
    for record in rows:
        obj = indicator_object(record, config)
        gid = _clean(record["group_id"])
        if gid is None:
            program[record["indicator"]] = obj
            continue
        if gid not in groups_out:
            meta = info.get(gid, {})
            groups_out[gid] = {
                "name": _clean(meta.get("name")),
                "modality": _clean(meta.get("modality")),
                "language": _clean(meta.get("language")),
                "coach": _clean(meta.get("coach")),
                "cohort": _clean(meta.get("cohort")),
                "size": _clean(meta.get("size")),
                "size_band": _clean(meta.get("size_band")),
                "sessions_expected": None,
                "active_band": None,
                "flags": flags_by_group.get(gid, []),
                "indicators": _copies(blank),
            }
        groups_out[gid]["indicators"][record["indicator"]] = obj
        if record["indicator"] == "sessions_held":
            groups_out[gid]["sessions_expected"] = _clean(record.get("target"))
        if record["indicator"] == "active_members" and obj["value"] is not None:
            active = obj["value"]
            groups_out[gid]["active_band"] = ("under 8" if active < 8 else
                                              "8-12" if active <= 12 else "over 12")
    out = {
        "quarter": q,
        "previous_quarter": previous_quarter(q),
        "k": config.min_responses,
        "program": {"name": config.program_name, "indicators": program},
        "groups": groups_out,
        "reliability": [
            {k: _clean(v) for k, v in r.items()}
            for r in _records(con, RELIABILITY_SQL + " WHERE quarter = ?"
                              + RELIABILITY_ORDER, [q])
        ],
    }
    if group_ids is not None:
        out["selection"] = slice_indicators(con, q, config, group_ids)
    return out, flag_records


def slice_indicators(
    con: duckdb.DuckDBPyConnection, quarter: str, config: Config, group_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Indicators for a filtered set of groups, pooled.

    Participation shares add up the groups' counts (Wilson interval); counts add up (active
    members are counted once per group). Survey figures pool the responses of the selected
    groups whose own figure is shown, and only when anonymity.slice_of_shown_groups allows it.
    """
    return slice_indicators_over(con, [quarter], config, group_ids).get(quarter, {})


def slice_indicators_over(
    con: duckdb.DuckDBPyConnection, quarters: Sequence[str], config: Config,
    group_ids: Sequence[str],
) -> dict[str, dict[str, dict[str, Any]]]:
    """slice_indicators for several quarters at once: {quarter: {indicator: object}}.

    One query per table for all the quarters (a trend chart of a selection would otherwise
    pay every query once per quarter); the anonymity decision is still made quarter by quarter
    (metrics.release.selection_release). The sums are DuckDB's and the objects are built from
    plain rows: at 10,000 groups, frames of every group's rows cost a filtered review seconds.
    """
    # pooling computes intervals: metrics.release (pandas, scipy) only when a selection is asked
    from metrics.release import selection_release

    selected = list(dict.fromkeys(group_ids))
    wanted = list(dict.fromkeys(quarters))
    # (sums as DOUBLE, missing as NaN: the figures are built as they were from a frame's row)
    sums = {
        (q, i): tuple(float("nan") if v is None else v for v in values)
        for q, i, *values in con.execute(
            "SELECT quarter, indicator, sum(hits)::DOUBLE, sum(n)::DOUBLE, "
            "sum(value)::DOUBLE, count(*) FILTER (WHERE ok) "
            f"FROM {_group_counts(con)} WHERE quarter IN (SELECT unnest(?::VARCHAR[])) "
            "AND group_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY quarter, indicator",
            [wanted, selected],
        ).fetchall()
    }
    # Survey figures: per quarter x indicator, the groups released *for that indicator*
    # (marts.survey_units) are pooled from their published statistics (metrics.release).
    known = {g for (g,) in con.execute(
        "SELECT group_id FROM marts.groups WHERE group_id IN (SELECT unnest(?::VARCHAR[]))",
        [selected]).fetchall()}
    chosen = [g for g in selected if g in known]
    released = selection_release(con, wanted, chosen, config.min_responses,
                                 "pages.program" if page_table(con, "program") else
                                 "marts.indicators")
    estimates = _share_estimates(sums)
    return {
        quarter: _slice_objects(
            {i: found for (q, i), found in sums.items() if q == quarter},
            {i: found for (q, i), found in released.items() if q == quarter}, config,
            {i: found for (q, i), found in estimates.items() if q == quarter})
        for quarter in wanted
    }


ROLLUP_DIMENSIONS = {
    "coach": "coach", "modality": "modality", "language": "language", "tz_band": "tz_band",
    "cohort": "cohort",
}


#: The review's indicators a selection pools from its groups' summed counts (not the survey's).
_POOLED_KEYS = tuple(k for k in REVIEW_KEYS if BY_KEY[k].family != "survey")

#: What a selection sums, per quarter, group and pooled indicator: marts.indicators' group rows
#: of those indicators, narrowed to the counts. A snapshot holds it as pages.group_counts
#: (metrics.pagedata): a filtered page sums a few hundred groups' rows of it, and reading
#: them out of marts.indicators' 800,000 rows (every indicator, every column) cost twice as
#: long at 10,000 groups.
GROUP_COUNTS_SQL = (
    "SELECT quarter, indicator, group_id, hits, n, value, status = 'ok' AS ok "
    "FROM marts.indicators WHERE group_id IS NOT NULL AND indicator IN ("
    + ", ".join(f"'{k}'" for k in _POOLED_KEYS) + ")")


def _group_counts(con: duckdb.DuckDBPyConnection) -> str:
    """The relation a selection's sums read: the snapshot's page table, or the same rows
    computed (a warehouse, or a snapshot built under another k has its own)."""
    return "pages.group_counts" if page_table(con, "group_counts") else \
        f"({GROUP_COUNTS_SQL})"

ROLLUP_COLUMNS = ["category", "groups", "group_ids", "indicator", "value", "n", "ci_low",
                  "ci_high", "status", "note"]


def rollup(con: duckdb.DuckDBPyConnection, quarter: str, config: Config, dimension: str,
           group_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """rollup_computed's frame; the whole program's comes from the snapshot's pages.rollup
    (written at publish by metrics.pagedata from this same function) when it holds the
    quarter, each category's group_ids listed from marts.groups as rollup_computed lists them.
    At 10,000 groups computing it cost the Compare page's first view about 90 ms."""
    if dimension not in ROLLUP_DIMENSIONS:
        raise HearthError(f"no roll-up by {dimension!r}; choose one of "
                          f"{', '.join(ROLLUP_DIMENSIONS)}")
    if group_ids is None and page_table(con, "rollup", config) and con.execute(
            "SELECT 1 FROM pages.rollup WHERE quarter = ? AND dimension = ? LIMIT 1",
            [quarter, dimension]).fetchone():
        column = ROLLUP_DIMENSIONS[dimension]
        # each category's groups once (one list per category, shared by its rows, as
        # rollup_computed builds them): a list per row would be 200,000 names at 10,000 groups
        selections = dict(con.execute(
            f"SELECT coalesce(CAST({column} AS VARCHAR), 'not recorded'), "
            "list(group_id ORDER BY group_id) FROM marts.groups GROUP BY ALL").fetchall())
        frame = query_frame(
            con, "SELECT category, groups, indicator, value, n, ci_low, ci_high, status, note "
            "FROM pages.rollup WHERE quarter = ? AND dimension = ? ORDER BY position",
            [quarter, dimension])
        frame.insert(2, "group_ids", [selections.get(c, []) for c in frame["category"].tolist()])
        return frame
    return rollup_computed(con, quarter, config, dimension, group_ids)


def rollup_computed(con: duckdb.DuckDBPyConnection, quarter: str, config: Config,
                    dimension: str, group_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Indicators aggregated by one dimension of the groups (coach, modality, language,
    time-zone band, cohort): one row per category x indicator, with the category's groups.

    Each category is a selection of groups and gets exactly what slice_indicators gives a
    selection: participation shares add the groups' counts, and a survey figure pools only
    the category's groups released for that indicator, shown only when it and what it leaves
    out each hold at least k responses (anonymity.slice_of_shown_groups). Groups with no
    value for the dimension form the category "not recorded". ``group_ids`` keeps only those
    groups (the sidebar filters).

    Columns: category, groups (how many), group_ids (list), indicator, value, n, ci_low,
    ci_high, status, note.

    DuckDB sums every category at once (the counts, and the released groups' statistics of
    each category); Python only applies the rule per category and builds the rows. At 358
    coaches a frame per category cost minutes, and frames of every group's rows seconds.
    """
    return rollups_computed(con, [quarter], config, dimension, group_ids)[quarter]


def rollups_computed(con: duckdb.DuckDBPyConnection, quarters: Sequence[str], config: Config,
                     dimension: str, group_ids: Sequence[str] | None = None
                     ) -> dict[str, pd.DataFrame]:
    """rollup_computed of several quarters: {quarter: its frame}, each the same as
    rollup_computed gives for it alone, from one query of each kind for all the quarters
    (metrics.pagedata writes every quarter's at publish: a query costs milliseconds even on a
    tiny snapshot, and there were four per quarter and dimension)."""
    import pandas as pd

    from metrics.release import figures_from_stats

    if dimension not in ROLLUP_DIMENSIONS:
        raise HearthError(f"no roll-up by {dimension!r}; choose one of "
                          f"{', '.join(ROLLUP_DIMENSIONS)}")
    quarters = list(quarters)
    column = ROLLUP_DIMENSIONS[dimension]
    where, params = _where_groups(group_ids)
    columns = ROLLUP_COLUMNS
    category = f"coalesce(CAST({column} AS VARCHAR), 'not recorded')"
    # each category's groups (the sidebar's selection only), as a CTE of every query below
    members = (f"WITH m AS (SELECT group_id, {category} AS category FROM marts.groups "
               f"WHERE true{where}) ")
    selections = {c: ids for c, ids in con.execute(
        members + "SELECT category, list(group_id ORDER BY group_id) FROM m "
        "GROUP BY category ORDER BY category", params).fetchall()}
    if not selections:
        return {quarter: pd.DataFrame(columns=columns) for quarter in quarters}
    wanted = " IN (SELECT unnest(?::VARCHAR[]))"
    # pandas' sums skipped missing values (0 when none): coalesce to the same. Only the
    # indicators pooled from sums are read (the survey ones pool released statistics below).
    sums: dict[str, dict] = {quarter: {} for quarter in quarters}
    for q, c, i, h, n, t, ok in con.execute(
        members + "SELECT i.quarter, m.category, i.indicator, coalesce(sum(i.hits), 0)::DOUBLE, "
        "coalesce(sum(i.n), 0)::DOUBLE, coalesce(sum(i.value), 0)::DOUBLE, "
        f"count(*) FILTER (WHERE i.ok) FROM {_group_counts(con)} i "
        f"JOIN m USING (group_id) WHERE i.quarter{wanted} "
        "GROUP BY i.quarter, m.category, i.indicator",
        [*params, quarters]).fetchall():
        sums[q][(c, i)] = (h, n, t, ok)
    # the released groups of each category, per indicator (fsum: the same figure whatever
    # order DuckDB's threads add in)
    released: dict[str, dict] = {quarter: {} for quarter in quarters}
    for q, c, i, ids, ns, *stats in con.execute(
        members + "SELECT u.quarter, m.category, u.indicator, list(u.group_id), list(u.n), "
        "sum(u.n)::DOUBLE, fsum(u.sum_score), fsum(u.sum_sq), fsum(u.hits) "
        f"FROM marts.survey_units u JOIN m USING (group_id) WHERE u.quarter{wanted} "
        "GROUP BY u.quarter, m.category, u.indicator", [*params, quarters]).fetchall():
        released[q][(c, i)] = (dict(zip(ids, ns, strict=True)), stats)
    program = "pages.program" if page_table(con, "program") else "marts.indicators"
    program_n: dict[str, dict] = {quarter: {} for quarter in quarters}
    for q, i, n in con.execute(
        f"SELECT quarter, indicator, n FROM {program} WHERE group_id IS NULL "
        "AND n IS NOT NULL AND indicator IN (SELECT unnest(?::VARCHAR[])) "
        f"AND quarter{wanted}", [list(SURVEY_KEYS), quarters]).fetchall():
        program_n[q][i] = int(n)
    k = config.min_responses
    decided = {quarter: {
        (c, i): slice_of_shown_groups(released[quarter].get((c, i), ({}, None))[0], chosen,
                                      total_n=total, k=k)
        for c, chosen in selections.items() for i, total in program_n[quarter].items()}
        for quarter in quarters}
    allowed = [(quarter, c, i, *released[quarter][(c, i)][1])
               for quarter in quarters for (c, i), d in decided[quarter].items() if d.allowed]
    figures: dict[tuple[str, str, str], tuple] = {}
    if allowed:
        # (each row's figure is its own: pooling every quarter's rows at once changes none)
        pooled = figures_from_stats(pd.DataFrame(
            allowed, columns=["quarter", "category", "indicator", "n", "sum_score", "sum_sq",
                              "hits"]).astype({"n": "int64"}))
        figures = {(q, c, i): (v, n, lo, hi) for q, c, i, v, n, lo, hi in pooled[
            ["quarter", "category", "indicator", "value", "n", "ci_low", "ci_high"]
        ].itertuples(index=False)}
    frames = {}
    for quarter in quarters:
        estimates = _share_estimates(sums[quarter])
        out = []
        for category, chosen in selections.items():
            base = {"category": category, "groups": len(chosen), "group_ids": chosen}
            for key in REVIEW_KEYS:
                spec = BY_KEY[key]
                if spec.family == "survey":
                    continue
                obj = _pooled_object(spec, sums[quarter].get((category, key)), config,
                                     estimates.get((category, key)))
                out.append({**base, "indicator": key, **obj})
            for key in SURVEY_KEYS:
                decision = decided[quarter].get((category, key))
                figure = figures.get((quarter, category, key))
                if decision is None or not decision.allowed or figure is None:
                    out.append({**base, "indicator": key, "value": None, "n": None,
                                "ci_low": None, "ci_high": None, "status": "suppressed",
                                "note": decision.reason if decision is not None
                                and decision.reason
                                else SUPPRESSED_LABEL(k) + " in this selection"})
                    continue
                shown = public_indicator(figure[0], int(figure[1]), figure[2], figure[3], k)
                note = shown["label"]
                if decision.left_out:
                    note = (f"{decision.left_out} selected group(s) left out: their own "
                            "figures are hidden")
                out.append({**base, "indicator": key, "value": shown["value"],
                            "n": shown["n"], "ci_low": shown["ci_low"],
                            "ci_high": shown["ci_high"], "status": shown["status"],
                            "note": note})
        frames[quarter] = pd.DataFrame(out, columns=columns)
    return frames


def _share_estimates(sums: dict[tuple[str, str], tuple]) -> dict[tuple[str, str], Any]:
    """The participation shares among ``sums`` ((unit, indicator) -> (hits, n, total, groups
    with a figure), unit a category or a quarter), each a statistics.Estimate with its Wilson
    interval, computed at once: one interval per call cost a millisecond, and a selection's
    trend or a roll-up asks for dozens."""
    from metrics.statistics import Estimate, wilson_intervals  # scipy: only when pooling

    shares = [(unit, key) for (unit, key), found in sums.items()
              if key in REVIEW_KEYS and BY_KEY[key].kind == "proportion"
              and BY_KEY[key].family != "survey" and found[3]]
    if not shares:
        return {}
    hits = [int(sums[pair][0]) for pair in shares]
    ns = [int(sums[pair][1]) for pair in shares]
    value, low, high = wilson_intervals(hits, ns)
    return {pair: Estimate(float(v), n, float(lo), float(hi)) for pair, v, n, lo, hi
            in zip(shares, value, ns, low, high, strict=True)}


def _pooled_object(spec, found: tuple | None, config: Config,
                   estimate: Any = None) -> dict[str, Any]:
    """A non-survey indicator pooled over a selection from its groups' summed counts:
    counts add up, shares add their counts (Wilson interval), the rest are not defined.
    found: (hits, n, total, groups with a figure) or None; estimate: the share's
    statistics.Estimate when the caller computed many at once (_share_estimates)."""
    if found is None or not found[3]:
        missing = _missing_object(spec.key, config)
        return {f: missing.get(f) for f in ("value", "n", "ci_low", "ci_high", "status", "note")}
    hits, n, total, _ = found
    if spec.kind == "count":
        return {"value": float(total), "n": _clean(n), "ci_low": None, "ci_high": None,
                "status": "ok", "note": None}
    if spec.kind == "proportion":
        from metrics.statistics import wilson_interval  # scipy: only when a selection is pooled

        est = estimate if estimate is not None else wilson_interval(int(hits), int(n))
        enough = est.n >= spec.min_n
        return {"value": est.value if enough else None, "n": est.n,
                "ci_low": est.ci_low if enough else None,
                "ci_high": est.ci_high if enough else None,
                "status": "ok" if enough else "insufficient",
                "note": None if enough else "too little data"}
    return {"value": None, "n": None, "ci_low": None, "ci_high": None, "status": "insufficient",
            "note": "not defined for a selection of groups"}


def _slice_objects(sums: dict[str, tuple], released: dict[str, tuple[SliceDecision, dict | None]],
                   config: Config, estimates: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One quarter of a selection: the review's indicator objects, from the groups' summed
    counts (indicator -> (hits, n, total, groups with a figure)) with the shares' estimates
    (_share_estimates) and, for survey indicators, the release decision and pooled figure
    (metrics.release.selection_release)."""

    out: dict[str, dict[str, Any]] = {}
    nothing = {"delta": None, "verdict": CANT_TELL, "p_adjusted": None}
    for key in REVIEW_KEYS:
        spec = BY_KEY[key]
        if spec.family == "survey":
            continue
        found = sums.get(key)
        if found is None or not found[3]:
            out[key] = _missing_object(key, config)
            continue
        out[key] = {**_pooled_object(spec, found, config, estimates.get(key)),
                    "change": nothing}
    for key in SURVEY_KEYS:
        decision, figure = released.get(key, (None, None))
        if decision is None or not decision.allowed or figure is None:
            out[key] = {"value": None, "n": None, "ci_low": None, "ci_high": None,
                        "status": "suppressed", "change": nothing,
                        "note": decision.reason if decision is not None and decision.reason
                        else SUPPRESSED_LABEL(config.min_responses) + " in this selection"}
            continue
        shown = public_indicator(figure["value"], int(figure["n"]), figure["ci_low"],
                                 figure["ci_high"], config.min_responses)
        note = shown["label"]
        if decision.left_out:
            note = (f"{decision.left_out} selected group(s) left out: their own figures are "
                    "hidden")
        out[key] = {"value": shown["value"], "n": shown["n"], "ci_low": shown["ci_low"],
                    "ci_high": shown["ci_high"], "status": shown["status"], "change": nothing,
                    "note": note}
    return out


def program_indicators(con: duckdb.DuckDBPyConnection,
                       quarter: str | None = None) -> pd.DataFrame:
    """The program-wide rows of marts.indicators (group_id NULL): every quarter, or one.

    A few rows per quarter, for the dashboard's KPI tiles and trend charts; reading them this
    way avoids pulling every group's rows to pick out the program's.
    (Added by the dashboard.) A snapshot holds them as pages.program (metrics.pagedata):
    finding them among 800,000 group rows cost every cold page tens of milliseconds.
    """
    table = "pages.program" if page_table(con, "program") else "marts.indicators"
    sql = f"SELECT * FROM {table} WHERE group_id IS NULL"
    params: list = []
    if quarter is not None:
        sql += " AND quarter = ?"
        params.append(quarter)
    return query_frame(con, sql + " ORDER BY indicator, quarter", params)


def movements(con: duckdb.DuckDBPyConnection, quarter: str,
              group_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """How many groups moved on each indicator since the previous quarter, and in how many the
    change is clear: columns indicator, direction ('up' | 'down'), moved, clear.

    ``clear`` counts groups whose verdict (after the Benjamini-Hochberg control across groups)
    agrees with the direction; the review writes its highlight sentences from this.
    (Added by the dashboard.)
    """
    where, params = _where_groups(group_ids)
    return query_frame(con,
        "SELECT indicator, CASE WHEN delta > 0 THEN 'up' ELSE 'down' END AS direction, "
        "count(*) AS moved, "
        "count(*) FILTER (WHERE verdict = CASE WHEN delta > 0 THEN 'up' ELSE 'down' END) AS clear "
        "FROM marts.indicators WHERE quarter = ? AND group_id IS NOT NULL "
        "AND delta IS NOT NULL AND delta <> 0" + where +
        " GROUP BY ALL ORDER BY indicator, direction", [quarter, *params],
    )


# --- coaching ---------------------------------------------------------------------------------

def flags(
    con: duckdb.DuckDBPyConnection, quarter: str, group_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Struggling-group flags for a quarter (evidence is JSON text), with their lifecycle:
    since (first quarter of the unbroken run), quarters (its length) and state (new,
    continuing, or resolved: raised last quarter, not this one; shown this once).

    Empty for an audience whose snapshot holds no flags (the council's: flags are coaching)."""
    if not _has_table(con, "marts", "flags"):
        import pandas as pd  # an empty frame of these columns; deferred like every frame here

        return pd.DataFrame(columns=FLAG_COLUMNS)
    sql, params = _flags_query(quarter, group_ids)
    return query_frame(con, sql, params)


FLAG_COLUMNS = ["quarter", "group_id", "flag", "reason", "evidence", "since", "state", "quarters"]


def _flags_query(quarter: str, group_ids: Sequence[str] | None) -> tuple[str, list]:
    where, params = _where_groups(group_ids)
    return ("SELECT " + ", ".join(FLAG_COLUMNS) + " FROM marts.flags WHERE quarter = ?" + where
            + " ORDER BY group_id, state = 'resolved', flag = 'cant_tell_yet', flag",
            [quarter, *params])


def flags_carried(con: duckdb.DuckDBPyConnection, before: str,
                  quarter: str) -> list[tuple[str, str, bool]]:
    """(group_id, flag, still raised in ``quarter``) for every flag raised in quarter
    ``before``, in flags()' order; [] where the snapshot holds no flags. A "resolved" row is
    not a raised flag: it is shown the quarter after a flag's run ends, so in ``before`` it is
    a flag that had already ended, and in ``quarter`` it says the flag is no longer raised."""
    if not _has_table(con, "marts", "flags"):
        return []
    return [(g, f, bool(still)) for g, f, still in con.execute(
        "SELECT b.group_id, b.flag, EXISTS (SELECT 1 FROM marts.flags n WHERE n.quarter = ? "
        "AND n.group_id = b.group_id AND n.flag = b.flag AND n.state <> 'resolved') "
        "FROM marts.flags b WHERE b.quarter = ? AND b.state <> 'resolved' "
        "ORDER BY b.group_id, b.flag = 'cant_tell_yet', b.flag", [quarter, before]).fetchall()]


def flags_records(con: duckdb.DuckDBPyConnection, quarter: str,
                  group_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """flags() as [{group_id, flag, reason, evidence, since, state, quarters}] with evidence
    parsed (the CLI's JSON), read as plain rows."""
    if not _has_table(con, "marts", "flags"):
        return []
    return [
        {"group_id": r["group_id"], "flag": r["flag"], "reason": r["reason"],
         "evidence": json.loads(r["evidence"]) if r["evidence"] else {},
         "since": r["since"], "state": r["state"], "quarters": int(r["quarters"])}
        for r in _records(con, *_flags_query(quarter, group_ids))
    ]


def groups_in_quarter(con: duckdb.DuckDBPyConnection, quarter: str) -> int:
    """How many groups the program had figures for in `quarter` (the chance rate's size)."""
    return int(con.execute(
        "SELECT count(DISTINCT group_id) FROM marts.indicators "
        "WHERE quarter = ? AND group_id IS NOT NULL", [quarter]).fetchone()[0])


def watchlist(
    con: duckdb.DuckDBPyConnection, quarter: str, group_id: str | None = None
) -> pd.DataFrame:
    """Members with withdrawal signals (coach view only: names members)."""
    where, params = ("", []) if group_id is None else (" AND group_id = ?", [group_id])
    return query_frame(con,
        "SELECT quarter, group_id, member_id, member_name, signal, reason, last_attended, "
        "consecutive_missed FROM marts.watchlist WHERE quarter = ?" + where +
        " ORDER BY group_id, member_name, signal", [quarter, *params],
    )


ATTENTION_COLUMNS = ["group_id", "group_name", "flags", "outside_998", "outside_95",
                     "clear_falls", "worst_fall", "why", "concern"]


def attention(con: duckdb.DuckDBPyConnection, quarter: str,
              group_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """attention_computed's frame, read from the snapshot's pages.attention when it holds the
    quarter (written at publish by metrics.pagedata from attention_computed: each group's
    counts, worst fall, reasons and concern do not depend on the selection). Only the names
    two selected groups share and the order within a tier depend on it; they are decided
    here as attention_computed decides them, by the groups' ranks in natural order
    (pages.group_order). At 10,000 groups computing it cost the Compare page ~100 ms."""
    if not (page_table(con, "attention") and page_table(con, "group_order") and con.execute(
            "SELECT 1 FROM pages.attention WHERE quarter = ? LIMIT 1", [quarter]).fetchone()):
        return attention_computed(con, quarter, group_ids)
    if group_ids is None:  # the whole program's names and order were stored as computed
        return query_frame(
            con, "SELECT " + ", ".join(ATTENTION_COLUMNS) + " FROM pages.attention "
            "WHERE quarter = ? ORDER BY position", [quarter])
    named: dict[str, Any] = {"quarter": quarter, "groups": [str(g) for g in group_ids]}
    where = " AND group_id IN (SELECT unnest($groups::VARCHAR[]))"
    return query_frame(con, f"""
        WITH chosen AS (
            SELECT a.*, o.name_rank, o.suffixed_rank, o.id_rank,
                   count(*) OVER (PARTITION BY a.name) > 1 AS shared
            FROM pages.attention a JOIN pages.group_order o USING (group_id)
            WHERE a.quarter = $quarter {where})
        SELECT group_id,
               CASE WHEN shared THEN name || ' (' || group_id || ')' ELSE name END AS group_name,
               flags, outside_998, outside_95, clear_falls, worst_fall, why, concern
        FROM chosen
        ORDER BY concern DESC, flags DESC, outside_998 DESC, outside_95 DESC, worst_fall DESC,
                 CASE WHEN shared THEN suffixed_rank ELSE name_rank END, name_rank, id_rank
    """, named)[ATTENTION_COLUMNS]


def attention_computed(con: duckdb.DuckDBPyConnection, quarter: str,
                       group_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The groups in the order they need attention, with why, in words (one DuckDB query).

    First the groups flagged this quarter (coaching flags, where the snapshot has them), then
    those outside the funnel limits on the bad side (99.8% before 95%), then those with a clear
    fall since last quarter (the largest fall first, in interquartile ranges of the groups'
    figures: group_medians' spread), then the rest; names in natural order within each tier
    (groups_by_name's order). Every input is a released figure: funnel points exist only for
    shown figures, verdicts only for shown pairs. A name two selected groups share gets the
    group's id added (dashboard.queries.display_names).

    Columns ATTENTION_COLUMNS: flags, outside_998, outside_95 and clear_falls count them;
    worst_fall is the largest fall's size; why lists each ("flagged: low safety; below the 95%
    limit: attendance rate; clear fall: belonging"); concern = 4 x flagged + 2 x outside 99.8%
    + outside 95% + a clear fall. Set-based: at 10,000 groups a loop over each indicator's
    funnel points and every group's rows cost the compare page seconds.
    """
    return attentions_computed(con, [quarter], group_ids)[quarter]


def attentions_computed(con: duckdb.DuckDBPyConnection, quarters: Sequence[str],
                        group_ids: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """attention_computed of several quarters, {quarter: its frame}, each the same as
    attention_computed gives for it alone, from one query (metrics.pagedata writes every
    quarter's at publish: planning this query costs tens of milliseconds even on a tiny
    snapshot)."""
    quarters = list(quarters)
    where = "" if group_ids is None else " AND group_id IN (SELECT unnest($groups::VARCHAR[]))"
    lower = [k for k, spec in BY_KEY.items() if spec.higher_is_better is False]
    titles = {k: spec.title.lower() for k, spec in BY_KEY.items()}
    raised = ("SELECT quarter, group_id, flag FROM marts.flags "
              "WHERE quarter IN (SELECT quarter FROM quarters) "
              "AND flag <> 'cant_tell_yet' AND state <> 'resolved'"
              if _has_table(con, "marts", "flags")
              else "SELECT NULL::VARCHAR AS quarter, NULL::VARCHAR AS group_id, "
                   "NULL::VARCHAR AS flag WHERE false")
    sql = f"""
        WITH quarters AS (SELECT DISTINCT unnest($quarters::VARCHAR[]) AS quarter),
        chosen AS (SELECT group_id, name FROM marts.groups WHERE true {where}),
        titles AS (SELECT unnest($keys::VARCHAR[]) AS indicator,
                          unnest($titles::VARCHAR[]) AS title),
        raised AS (SELECT * FROM ({raised}) r SEMI JOIN chosen USING (group_id)),
        outside AS (
            SELECT f.quarter, f.group_id, f.indicator, f.outside FROM marts.funnel_points f
            SEMI JOIN chosen USING (group_id)
            WHERE f.quarter IN (SELECT quarter FROM quarters)
              AND starts_with(coalesce(f.outside, 'within'),
                CASE WHEN f.indicator IN (SELECT unnest($lower::VARCHAR[])) THEN 'above'
                     ELSE 'below' END)),
        spread AS (
            SELECT quarter, indicator,
                   quantile_cont(value, 0.75) - quantile_cont(value, 0.25) AS spread
            FROM marts.indicators
            WHERE quarter IN (SELECT quarter FROM quarters) AND group_id IS NOT NULL
              AND value IS NOT NULL AND status = 'ok'
            GROUP BY quarter, indicator),
        falls AS (
            SELECT i.quarter, i.group_id, i.indicator,
                   coalesce(abs(i.delta) / CASE WHEN s.spread > 0 THEN s.spread END,
                            abs(i.delta)) AS size
            FROM marts.indicators i SEMI JOIN chosen USING (group_id)
            LEFT JOIN spread s USING (quarter, indicator)
            WHERE i.quarter IN (SELECT quarter FROM quarters) AND i.verdict =
                CASE WHEN i.indicator IN (SELECT unnest($lower::VARCHAR[])) THEN 'up'
                     ELSE 'down' END),
        parts AS (
            SELECT quarter, group_id, 1 AS section, flag AS part_key,
                   'flagged: ' || replace(flag, '_', ' ') AS text FROM raised
            UNION ALL
            SELECT o.quarter, o.group_id, 2, o.indicator,
                   split_part(o.outside, ' ', 1) || ' the ' || split_part(o.outside, ' ', 2)
                   || ' limit: ' || coalesce(t.title, lower(replace(o.indicator, '_', ' ')))
            FROM outside o LEFT JOIN titles t USING (indicator)
            UNION ALL
            SELECT f.quarter, f.group_id, 3, f.indicator,
                   'clear fall: ' || coalesce(t.title, lower(replace(f.indicator, '_', ' ')))
            FROM falls f LEFT JOIN titles t USING (indicator)),
        why AS (SELECT quarter, group_id,
                       string_agg(text, '; ' ORDER BY section, part_key, text) AS why
                FROM parts GROUP BY quarter, group_id),
        flag_counts AS (SELECT quarter, group_id, count(*) AS flags FROM raised
                        GROUP BY quarter, group_id),
        outside_counts AS (
            SELECT quarter, group_id,
                   count(*) FILTER (WHERE ends_with(outside, '99.8%')) AS outside_998,
                   count(*) FILTER (WHERE NOT ends_with(outside, '99.8%')) AS outside_95
            FROM outside GROUP BY quarter, group_id),
        fall_counts AS (SELECT quarter, group_id, count(*) AS clear_falls,
                               max(size) AS worst_fall
                        FROM falls GROUP BY quarter, group_id),
        counted AS (
            SELECT q.quarter, c.group_id, c.name,
                   CASE WHEN count(*) OVER (PARTITION BY q.quarter, c.name) > 1
                        THEN c.name || ' (' || c.group_id || ')' ELSE c.name END AS group_name,
                   coalesce(fl.flags, 0) AS flags,
                   coalesce(o.outside_998, 0) AS outside_998,
                   coalesce(o.outside_95, 0) AS outside_95,
                   coalesce(fa.clear_falls, 0) AS clear_falls,
                   coalesce(fa.worst_fall, 0.0) AS worst_fall,
                   coalesce(w.why, '') AS why
            FROM quarters q CROSS JOIN chosen c
            LEFT JOIN why w ON w.quarter = q.quarter AND w.group_id = c.group_id
            LEFT JOIN flag_counts fl ON fl.quarter = q.quarter AND fl.group_id = c.group_id
            LEFT JOIN outside_counts o ON o.quarter = q.quarter AND o.group_id = c.group_id
            LEFT JOIN fall_counts fa ON fa.quarter = q.quarter AND fa.group_id = c.group_id)
        SELECT quarter, group_id, group_name, flags, outside_998, outside_95, clear_falls,
               worst_fall, why,
               (4 * (flags > 0)::BIGINT + 2 * (outside_998 > 0)::BIGINT
                + (outside_95 > 0)::BIGINT + (clear_falls > 0)::BIGINT) AS concern
        FROM counted
        ORDER BY quarter, concern DESC, flags DESC, outside_998 DESC, outside_95 DESC,
                 worst_fall DESC, {_natural_sql('group_name')}, {_natural_sql('name')},
                 {_natural_sql('group_id')}
    """
    named = {"quarters": quarters, "keys": list(titles), "titles": list(titles.values()),
             "lower": lower}
    if group_ids is not None:
        named["groups"] = [str(g) for g in group_ids]
    found = query_frame(con, sql, named)
    at = found.groupby("quarter", sort=False).indices if len(found) else {}
    empty = found.iloc[:0][ATTENTION_COLUMNS]
    return {quarter: found.iloc[at[quarter]].reset_index(drop=True)[ATTENTION_COLUMNS]
            if quarter in at else empty.copy() for quarter in quarters}


def drifting_members(con: duckdb.DuckDBPyConnection, quarter: str) -> dict[str, int]:
    """Members with withdrawal signals per group this quarter: a count, for the coach's day
    ("to watch"); the names stay in watchlist()."""
    return dict(con.execute(
        "SELECT group_id, count(DISTINCT member_id) FROM marts.watchlist WHERE quarter = ? "
        "GROUP BY group_id", [quarter]).fetchall())


# --- tables for pages -------------------------------------------------------------------------

def groups(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return query_frame(con, "SELECT * FROM marts.groups ORDER BY group_id")


def group_names_of(con: duckdb.DuckDBPyConnection, group_ids: Sequence[str]) -> dict[str, Any]:
    """group_id -> name (marts.groups) for these groups only."""
    return dict(con.execute(
        "SELECT group_id, name FROM marts.groups WHERE group_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(group_ids)]).fetchall())


def has_groups(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the snapshot holds any group (without reading them)."""
    return _has_table(con, "marts", "groups") and \
        con.execute("SELECT 1 FROM marts.groups LIMIT 1").fetchone() is not None


def _natural_sql(column: str) -> str:
    """A DuckDB sort key putting "Circle 2" before "Circle 10": digit runs compare as numbers
    (by length without leading zeros, then digit by digit, so no run is too long for an
    integer), the rest without case (lower(); Python's casefold differs only for a few
    letters such as ß); a missing value sorts first. dashboard.queries.natural_key is the same
    order in Python, for lists a page sorts itself."""
    return (f"list_transform(regexp_extract_all(coalesce(CAST({column} AS VARCHAR), ''), "
            r"'\d+|\D+'), lambda p: CASE WHEN regexp_full_match(p, '\d+') "
            "THEN {'kind': 0, 'digits': length(ltrim(p, '0')), 'number': ltrim(p, '0'), "
            "'text': ''} ELSE {'kind': 1, 'digits': 0, 'number': '', 'text': lower(p)} END)")


def groups_by_name(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """marts.groups in natural name order (then natural group_id order): sorted by DuckDB, as
    sorting 10,000 names in Python costs a page more than its whole budget. A snapshot
    carries the order as ranks (pages.group_order, written at publish): sorting by regular
    expressions still cost every cold page tens of milliseconds at 10,000 groups."""
    if page_table(con, "group_order"):
        return query_frame(con, "SELECT g.* FROM marts.groups g JOIN pages.group_order o "
                      "USING (group_id) ORDER BY o.name_rank, o.id_rank")
    return query_frame(con, f"SELECT * FROM marts.groups ORDER BY {_natural_sql('name')}, "
                  f"{_natural_sql('group_id')}")


def group_order_computed(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each group's place in natural order (pages.group_order): the dense rank, among every
    name, "name (group_id)" and group_id, of its name, of "name (group_id)" (the name a group
    shows when another selected group shares it) and of its group_id. Equal natural keys get
    equal ranks, so sorting by ranks is sorting by _natural_sql's keys."""
    return query_frame(con, f"""
        WITH g AS (SELECT group_id, coalesce(CAST(name AS VARCHAR), '') AS name_text,
                          coalesce(name || ' (' || group_id || ')', '') AS suffixed_text,
                          coalesce(CAST(group_id AS VARCHAR), '') AS id_text
                   FROM marts.groups),
        texts AS (SELECT name_text AS t FROM g UNION SELECT suffixed_text FROM g
                  UNION SELECT id_text FROM g),
        ranked AS (SELECT t, dense_rank() OVER (ORDER BY {_natural_sql('t')}) AS r FROM texts)
        SELECT g.group_id, n.r AS name_rank, s.r AS suffixed_rank, i.r AS id_rank
        FROM g JOIN ranked n ON n.t = g.name_text JOIN ranked s ON s.t = g.suffixed_text
        JOIN ranked i ON i.t = g.id_text
        ORDER BY name_rank, id_rank""")


def indicators(
    con: duckdb.DuckDBPyConnection, quarter: str | None = None,
    group_ids: Sequence[str] | None = None, indicator: str | None = None,
    verdicts: Sequence[str] | None = None, quarters: Sequence[str] | None = None,
    among: Sequence[str] | None = None,
) -> pd.DataFrame:
    """marts.indicators rows; ``verdicts`` keeps rows whose change verdict is one of them,
    ``quarters`` those of the quarters listed, ``among`` those of the indicators listed."""
    sql = "SELECT * FROM marts.indicators WHERE true"
    params: list = []
    if quarter is not None:
        sql += " AND quarter = ?"
        params.append(quarter)
    if quarters is not None:
        sql += " AND quarter IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(quarters))
    if indicator is not None:
        sql += " AND indicator = ?"
        params.append(indicator)
    if among is not None:
        sql += " AND indicator IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(among))
    if verdicts is not None:
        sql += " AND verdict IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(verdicts))
    where, extra = _where_groups(group_ids)
    return query_frame(con, sql + where + " ORDER BY quarter, group_id NULLS FIRST, indicator",
                  params + extra)


def trend(con: duckdb.DuckDBPyConnection, indicator: str,
          group_id: str | None = None) -> pd.DataFrame:
    """One indicator over quarters for a group (or the program when group_id is None)."""
    return query_frame(con,
        "SELECT quarter, value, n, ci_low, ci_high, status, delta, verdict, p_adjusted, pooled, "
        "note FROM marts.indicators WHERE indicator = ? AND group_id IS NOT DISTINCT FROM ? "
        "ORDER BY quarter", [indicator, group_id],
    )


def funnel(con: duckdb.DuckDBPyConnection, quarter: str, indicator: str,
           group_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Funnel-plot points of one indicator (``group_ids``: only those groups' points; the
    limits are the whole program's either way)."""
    where, params = _where_groups(group_ids)
    return query_frame(con, "SELECT * FROM marts.funnel_points WHERE quarter = ? AND indicator = ?"
                  + where + " ORDER BY n", [quarter, indicator, *params])


def shrunken(con: duckdb.DuckDBPyConnection, quarter: str, indicator: str,
             group_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Empirical-Bayes estimates of one indicator, ranked over the whole program (``group_ids``:
    only those groups' rows, with their program-wide ranks)."""
    where, params = _where_groups(group_ids)
    return query_frame(con, "SELECT * FROM marts.shrunken WHERE quarter = ? AND indicator = ?"
                  + where + " ORDER BY rank", [quarter, indicator, *params])


def session_attendance(con: duckdb.DuckDBPyConnection, group_id: str,
                       quarter: str | None = None) -> pd.DataFrame:
    sql = "SELECT * FROM marts.session_attendance WHERE group_id = ?"
    params: list = [group_id]
    if quarter is not None:
        sql += " AND quarter = ?"
        params.append(quarter)
    return query_frame(con, sql + " ORDER BY session_date, session_id", params)


def participation_funnel(con: duckdb.DuckDBPyConnection,
                         quarter: str | None = None) -> pd.DataFrame:
    if quarter is None:
        return query_frame(con,
            "SELECT stage, sum(members) AS members FROM marts.participation_funnel "
            "GROUP BY stage ORDER BY list_position(['joined', 'first_session', 'regular', "
            "'host'], stage)"
        )
    return query_frame(con,
        "SELECT stage, members FROM marts.participation_funnel WHERE quarter = ? "
        "ORDER BY list_position(['joined', 'first_session', 'regular', 'host'], stage)",
        [quarter],
    )


def retention_curve(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return query_frame(con, "SELECT * FROM marts.retention_curve ORDER BY days")


def inclusion(con: duckdb.DuckDBPyConnection, quarter: str,
              dimension: str | None = None) -> pd.DataFrame:
    sql = "SELECT * FROM marts.inclusion WHERE quarter = ?"
    params: list = [quarter]
    if dimension is not None:
        sql += " AND dimension = ?"
        params.append(dimension)
    return query_frame(con, sql + " ORDER BY dimension, indicator, category", params)


RELIABILITY_SQL = "SELECT * FROM marts.reliability"
RELIABILITY_ORDER = " ORDER BY quarter, construct, policy"


def reliability(con: duckdb.DuckDBPyConnection, quarter: str | None = None) -> pd.DataFrame:
    sql = RELIABILITY_SQL
    params: list = []
    if quarter is not None:
        sql += " WHERE quarter = ?"
        params.append(quarter)
    return query_frame(con, sql + RELIABILITY_ORDER, params)


def comments(con: duckdb.DuckDBPyConnection, quarter: str,
             group_id: str | None = None) -> pd.DataFrame:
    """Comments as plain text (group_id None: the program's), only from units with enough
    responses (marts.comments holds nothing else)."""
    return query_frame(
        con, "SELECT comment FROM marts.comments WHERE quarter = ? "
        "AND group_id IS NOT DISTINCT FROM ? ORDER BY comment", [quarter, group_id])


def selection_comments(con: duckdb.DuckDBPyConnection, quarter: str,
                       group_ids: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Comments of a selection of groups: (group_id, comment) rows of the selected groups whose
    own list was released this quarter, and the selected groups without a released list.

    Only whole released lists are combined (marts.comments holds a group's list only when the
    group reached k_comments responses and secondary suppression left it shown), so the
    selection's comments are never more than what each group's own list already shows; the
    comments of groups left out are never pooled in, however many of them are selected."""
    selected = sorted(dict.fromkeys(str(g) for g in group_ids))
    rows = query_frame(
        con, "SELECT group_id, comment FROM marts.comments WHERE quarter = ? "
        "AND group_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY group_id, comment",
        [quarter, selected])
    released = set(rows["group_id"].astype(str))
    return rows, [g for g in selected if g not in released]


def freshness(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per group: newest session and attendance dates, and the latest quarter with a released
    survey figure (never a survey date: that would date a hidden group's responses)."""
    return query_frame(con,
        """
        SELECT f.*, s.latest_survey_quarter FROM marts.freshness f
        LEFT JOIN (SELECT group_id, max(quarter) AS latest_survey_quarter FROM marts.indicators
                   WHERE status = 'ok' AND group_id IS NOT NULL
                     AND indicator IN (SELECT unnest(?::VARCHAR[]))
                   GROUP BY group_id) s USING (group_id)
        ORDER BY group_id
        """, [list(SURVEY_KEYS)],
    )


def group_medians(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """Per indicator, the median released group figure and its interquartile range this
    quarter: the yardstick the comparison heatmap colours against (display scaling). From
    the snapshot's pages.group_medians when it holds the quarter (metrics.pagedata)."""
    if page_table(con, "group_medians") and con.execute(
            "SELECT 1 FROM pages.built WHERE list_contains(quarters, ?)", [quarter]).fetchone():
        return query_frame(con, "SELECT indicator, median, spread FROM pages.group_medians "
                           "WHERE quarter = ? ORDER BY position", [quarter])
    return group_medians_computed(con, quarter)


def group_medians_computed(con: duckdb.DuckDBPyConnection, quarter: str) -> pd.DataFrame:
    """group_medians from marts.indicators."""
    return groups_medians_computed(con, [quarter])[quarter]


def groups_medians_computed(con: duckdb.DuckDBPyConnection, quarters: Sequence[str]
                            ) -> dict[str, pd.DataFrame]:
    """group_medians_computed of several quarters, {quarter: its frame}, from one query
    (metrics.pagedata writes every quarter's at publish)."""
    quarters = list(quarters)
    found = query_frame(con, """
        SELECT quarter, indicator, median(value) AS median,
               quantile_cont(value, 0.75) - quantile_cont(value, 0.25) AS spread
        FROM marts.indicators
        WHERE quarter IN (SELECT unnest(?::VARCHAR[])) AND group_id IS NOT NULL
          AND value IS NOT NULL AND status = 'ok'
        GROUP BY quarter, indicator ORDER BY quarter, indicator
    """, [quarters])
    at = found.groupby("quarter", sort=False).indices if len(found) else {}
    columns = ["indicator", "median", "spread"]
    return {quarter: found.iloc[at[quarter]].reset_index(drop=True)[columns]
            if quarter in at else found.iloc[:0][columns].copy() for quarter in quarters}


def comparable_indicators(con: duckdb.DuckDBPyConnection, quarter: str) -> list[str]:
    """Indicators that have funnel-plot points this quarter."""
    rows = con.execute("SELECT DISTINCT indicator FROM marts.funnel_points WHERE quarter = ? "
                       "ORDER BY indicator", [quarter]).fetchall()
    return [i for (i,) in rows]


def load_manifest(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per file loaded, newest first (the published manifest: guests counted only)."""
    return query_frame(con,
        """
        SELECT load_id, file_name, kind, format, loaded_at,
               rows_read, rows_loaded, rows_duplicate, rows_quarantined,
               array_to_string(dropped_columns, ', ') AS dropped_columns, guests,
               array_to_string(notes, '; ') AS notes
        FROM published.load_manifest ORDER BY load_id DESC
        """
    )


def quarantine_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Quarantined rows counted by file and reason."""
    return query_frame(con,
        "SELECT file_name, reason, count(*) AS rows, min(line) AS first_line "
        "FROM published.quarantine GROUP BY ALL ORDER BY rows DESC, file_name, reason"
    )


def quarantine_rows(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> pd.DataFrame:
    """The quarantined rows (file, line, column, reason, value), newest load first."""
    sql = ("SELECT load_id, file_name, line, column_name, reason, value FROM published.quarantine "
           "ORDER BY load_id DESC, file_name, line")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return query_frame(con, sql)


__all__ = [
    "ATTENTION_COLUMNS", "CANT_TELL", "POOLED_LABEL", "attention", "comments", "comparable_indicators", "flags", "flags_records",
    "freshness", "funnel", "group_medians", "groups", "group_names_of", "groups_by_name", "groups_in_quarter", "has_groups", "load_manifest", "quarantine_rows", "quarantine_summary",
    "inclusion", "indicator_object", "indicators", "latest_quarter", "movements",
    "participation_funnel", "program_indicators",
    "quarters", "reliability", "resolve_quarter", "retention_curve", "review", "rollup",
    "selection_comments", "session_attendance",
    "shrunken", "slice_indicators", "slice_indicators_over", "trend", "watchlist",
]
