"""The dashboard's query layer: the only module that talks to the warehouse.

It opens the *published* copy of the warehouse (``hearth.warehouse.published_path``) read-only,
never the file the pipelines write to. An ingest from the command line therefore never meets a
lock held by the dashboard, and since each publish swaps in a complete file atomically, a page
never sees a half-loaded state: an open connection keeps reading the snapshot it opened.

Every result is a small frame (or dict) cached with ``st.cache_data``; the group list, which
nearly every read of a rerun asks for, is one shared frame per snapshot (``groups``). The cache
key includes the published file's path, modification time and size (a ``Snapshot``), so the
first rerun after a new publish reads the new data, and old entries simply stop being asked
for. A tuple of strings
(a selection of groups) is hashed as one string (``HASH_FUNCS``, on every cached read).

Each audience has its own snapshot (``published_path(db, audience)``) holding only what that
audience may read. Indicators, flags, comments and every other figure come from ``metrics.api``,
the read layer whose survey figures were released by ``metrics.release`` (called with a cursor
on the snapshot); this layer routes the filters to it, caches, and shapes the answers for
display. The only SQL here is the snapshot's table list.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd
import streamlit as st

from hearth.config import Config
from hearth.errors import HearthError
from hearth.warehouse import published_path
from metrics import api
from metrics.api import ATTENTION_COLUMNS


class Snapshot(NamedTuple):
    """One published version of the warehouse; part of every cache key."""

    path: str
    mtime_ns: int
    size: int


class Filters(NamedTuple):
    """The shared sidebar filters. An empty tuple means "all"."""

    quarter: str | None = None
    modality: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    tz_band: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    coach: tuple[str, ...] = ()
    size_band: tuple[str, ...] = ()
    group: tuple[str, ...] = ()  # group ids picked by name

    def narrows(self) -> bool:
        """True when any group filter (not the quarter) is set."""
        return bool(self.group) or any(getattr(self, f) for f in GROUP_FILTER_COLUMNS)


# Filter field -> column of marts.groups it selects on.
GROUP_FILTER_COLUMNS = {
    "modality": "modality",
    "language": "language",
    "tz_band": "tz_band",
    "tier": "dominant_tier",
    "coach": "coach",
    "size_band": "size_band",
}


def _tuple_key(value: tuple) -> str | list:
    """A tuple argument's cache key: a selection of groups is a tuple of hundreds or thousands
    of ids, and Streamlit hashes a tuple item by item (a page passes one to several cached
    reads), which cost a filtered page more than some of its queries. A tuple of strings is
    hashed as its repr, one string (repr tells any two such tuples apart); any other tuple item
    by item as before (as a list: a tuple would come back here)."""
    if all(type(v) is str for v in value):
        return repr(value)
    return list(value)


#: hash_funcs of every st.cache_data read (here and in the pages' own cached helpers). The
#: configuration is hashed as its repr (every field, nested ones included): Streamlit's own
#: hashing of the dataclass cost 1.6 ms per cached read that takes it.
HASH_FUNCS = {tuple: _tuple_key, Config: repr}


def snapshot(db: str | os.PathLike | None = None, audience: str = "lead") -> Snapshot | None:
    """The current published snapshot for this audience, or None when nothing is published."""
    path = published_path(db, audience)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return Snapshot(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@st.cache_resource(max_entries=4, show_spinner=False)
def _connection(path: str, mtime_ns: int, size: int) -> duckdb.DuckDBPyConnection:
    """One read-only connection per published version.

    The snapshot is ATTACHed to a private in-memory database rather than opened with
    duckdb.connect(path): connect() shares one database instance per path within a process, so
    after a publish swapped the file it would keep returning the old snapshot for as long as
    any connection to it stayed open. An attached file is this connection's own.
    """
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS {CATALOG} (READ_ONLY)")
    return con


CATALOG = "hearth"


def _cursor(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    con = _connection(*snap).cursor()
    con.execute(f"USE {CATALOG}")
    return con


@contextmanager
def cursor(snap: Snapshot) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only cursor on the snapshot, closed after the block (``with cursor(snap) as
    con``). Inside it the read layer knows the snapshot's tables (cached here per snapshot,
    metrics.api.KNOWN_TABLES), so it need not ask the catalog before each read: about ten
    table checks a page, each a catalog query."""
    known = api.KNOWN_TABLES.set(tables(snap))
    try:
        with _cursor(snap) as con:
            yield con
    finally:
        api.KNOWN_TABLES.reset(known)


def _api(snap: Snapshot, name: str, *args, **kwargs):
    """Call metrics.api.<name> with a cursor on the snapshot."""
    with cursor(snap) as con:
        return getattr(api, name)(con, *args, **kwargs)


@functools.lru_cache(maxsize=4)
def tables(snap: Snapshot) -> frozenset[str]:
    """Every 'schema.table' present in the snapshot. Kept per snapshot version in a plain
    memo: every cursor asks for it (about twenty a page), and a Streamlit cache lookup
    (hashing the key, unpickling the set) cost each of them half a millisecond."""
    with _cursor(snap) as con:
        return frozenset(t for (t,) in con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            f"WHERE database_name = '{CATALOG}'").fetchall())


def has(snap: Snapshot | None, table: str) -> bool:
    return snap is not None and table in tables(snap)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def is_empty(snap: Snapshot | None) -> bool:
    """True when there is no published warehouse or it holds no group yet."""
    if snap is None or not has(snap, "marts.groups"):
        return True
    return not _api(snap, "has_groups")


# --- the frame: quarters and the groups the filters select from ---------------------------------

@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def quarters(snap: Snapshot) -> list[str]:
    """Quarters with sessions or survey responses, oldest first."""
    return [str(q) for q in _api(snap, "quarters")] if has(snap, "marts.indicators") else []


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def default_quarter(snap: Snapshot) -> str | None:
    """The quarter a review opens on (metrics.api.review_quarter): the latest one with at least
    half the program's typical number of sessions, so a quarter that has only just begun is not
    what a lead lands on."""
    listed = quarters(snap)
    return _api(snap, "review_quarter", listed) if listed else None


def previous_quarter(snap: Snapshot, quarter: str) -> str | None:
    """The quarter before, if the data has it."""
    listed = quarters(snap)
    at = listed.index(quarter) if quarter in listed else -1
    return listed[at - 1] if at > 0 else None


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: object) -> tuple:
    """Sort key putting "Circle 2" before "Circle 10": digit runs compare as numbers, the
    rest without case; a missing name sorts first."""
    text = "" if text is None else str(text)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
                 for part in _DIGITS.split(text) if part)


@st.cache_resource(max_entries=4, show_spinner=False)
def groups(snap: Snapshot) -> pd.DataFrame:
    """marts.groups in natural name order (natural_key's, sorted by DuckDB: metrics.api.
    groups_by_name): one row per group with the dimensions the filters use.

    Kept as one shared frame per snapshot (a resource), not copied per read: every page and
    most reads of a rerun ask for it, and st.cache_data pickled the 10,000 rows (1.9 MB) when
    it stored them and unpickled them on every hit, ~15 ms of a cold filtered page. Callers
    only select from it, never change it in place. So are the frame's other per-group reads
    below (the pickers' ids, the names, the filters' options): every page's sidebar asks for
    them, and pickling 10,000 names on each store cost a cold page a few milliseconds."""
    return _api(snap, "groups_by_name")


def forget_snapshots() -> None:
    """Drop what is kept per snapshot version (its tables and groups): a benchmark's cold
    runs. The app never needs it: a publish is a new version, with keys of its own."""
    for kept in (groups, groups_in_name_order, filter_options, group_names, _groups_by_id):
        kept.clear()
    tables.cache_clear()


@st.cache_resource(max_entries=4, show_spinner=False)
def groups_in_name_order(snap: Snapshot) -> list[str]:
    """Every group_id, in natural name order (the options of the group pickers)."""
    # (tolist first: iterating a string column boxes each of 10,000 values through pandas)
    return [str(g) for g in groups(snap)["group_id"].tolist()]


@st.cache_resource(max_entries=4, show_spinner=False)
def filter_options(snap: Snapshot) -> dict[str, list[str]]:
    """For each group filter, the values present in the data (sorted, no blanks)."""
    frame = groups(snap)
    options = {}
    for field, column in GROUP_FILTER_COLUMNS.items():
        # (the distinct values first: a few per column, not 10,000 to convert)
        values = frame[column].dropna().unique() if column in frame else ()
        options[field] = sorted({str(v) for v in values} - {""})
    return options


def selected_group_ids(snap: Snapshot, filters: Filters) -> tuple[str, ...] | None:
    """The groups the filters keep: None when no group filter is set (the whole program)."""
    if not filters.narrows():
        return None
    frame = groups(snap)
    keep = pd.Series(True, index=frame.index)
    if filters.group:
        keep &= frame["group_id"].astype(str).isin(filters.group)
    for field, column in GROUP_FILTER_COLUMNS.items():
        chosen = getattr(filters, field)
        if chosen and column in frame:
            keep &= frame[column].astype(str).isin(chosen)
    return tuple(frame.loc[keep, "group_id"].astype(str))


@st.cache_resource(max_entries=4, show_spinner=False)
def group_names(snap: Snapshot) -> dict[str, str]:
    """group_id -> the name to show (see display_names)."""
    return display_names(groups(snap).rename(columns={"name": "group_name"}))


def display_names(pairs: pd.DataFrame) -> dict[str, str]:
    """group_id -> the name to show (group_id, group_name columns); a name two groups share
    gets its id added, so neither hides the other."""
    ids, names = pairs["group_id"].tolist(), pairs["group_name"].tolist()
    # plain lists and a Counter: a Series lookup per group costs a second at 10,000 groups
    # (and the missing names are left out of the few shared ones, not tested one by one)
    shared = {n for n, count in Counter(names).items() if count > 1 and not _missing(n)}
    return {str(g): (f"{n} ({g})" if n in shared else str(n))
            for g, n in zip(ids, names, strict=True)}


def _missing(value: object) -> bool:
    """None or NaN (value_counts never counted them)."""
    return value is None or (isinstance(value, float) and value != value)


@st.cache_resource(max_entries=4, show_spinner=False)
def _groups_by_id(snap: Snapshot) -> pd.DataFrame:
    """Each group's name and coach, indexed by group_id (shared, never changed in place)."""
    return groups(snap).set_index("group_id")[["name", "coach"]]


def _with_names(snap: Snapshot, frame: pd.DataFrame, coach: bool = False) -> pd.DataFrame:
    """The frame with the group's name (and coach) beside its group_id, as a left merge
    with the groups gives it. Looked up by id: merging a page's few hundred rows with the
    10,000 groups cost a cold Compare 16-22 ms."""
    if frame.empty or "group_id" not in frame:
        return frame
    by_id = _groups_by_id(snap)
    added = {"group_name": "name", **({"coach": "coach"} if coach else {})}
    if set(added) & set(frame.columns):  # (a merge would suffix them: keep its way)
        info = groups(snap)[["group_id", *added.values()]].rename(columns={"name": "group_name"})
        return frame.merge(info, on="group_id", how="left")
    out = frame.reset_index(drop=True)
    for column, source in added.items():
        out[column] = out["group_id"].map(by_id[source])
    return out


def scope_label(snap: Snapshot, group_ids: tuple[str, ...] | None) -> str:
    """Words for what the figures cover: "Whole program: 24 groups" or "Filtered: 3 of 24"."""
    total = len(groups(snap))
    if group_ids is None:
        return f"Whole program: {total} group{'s' if total != 1 else ''}"
    return f"Filtered: {len(group_ids)} of {total} groups"


# --- Quarterly review ----------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def program_indicators(snap: Snapshot) -> pd.DataFrame:
    """The program's indicators (group_id NULL) for every quarter: a few rows per quarter."""
    if not has(snap, "marts.indicators"):
        return pd.DataFrame(columns=["quarter", "indicator", "value", "status"])
    return _api(snap, "program_indicators")


SLICE_COLUMNS = ["indicator", "value", "n", "ci_low", "ci_high", "status", "delta", "verdict",
                 "note"]


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def scope_indicators(snap: Snapshot, quarter: str, group_ids: tuple[str, ...] | None,
                     config) -> pd.DataFrame:
    """Indicators for the review's scope this quarter, one row per indicator.

    The whole program reads its rows of marts.indicators. A filtered set of groups is pooled
    by metrics.api.slice_indicators, whose survey figures follow the anonymity rule for slices
    (metrics.anonymity.slice_groups); a pooled selection has no change to test.
    """
    if group_ids is None:
        program = program_indicators(snap)
        return program[program["quarter"] == quarter].reset_index(drop=True)
    # The review shows this quarter's tiles and the trend up to it: pool the selection once
    # for both (scope_trends is cached), rather than this quarter twice.
    trends = scope_trends(snap, group_ids, config, until=quarter)
    if trends.empty:
        return pd.DataFrame(columns=[*SLICE_COLUMNS, "quarter"])
    return trends[trends["quarter"] == quarter].reset_index(drop=True)


def _slice_frame(quarter: str, pooled: dict) -> pd.DataFrame:
    # (the quarter in each row, not assigned after: an assign copies the frame)
    rows = [{"indicator": key, "value": obj.get("value"), "n": obj.get("n"),
             "ci_low": obj.get("ci_low"), "ci_high": obj.get("ci_high"),
             "status": obj.get("status"), "delta": (obj.get("change") or {}).get("delta"),
             "verdict": (obj.get("change") or {}).get("verdict"), "note": obj.get("note"),
             "quarter": quarter}
            for key, obj in pooled.items()]
    return pd.DataFrame(rows, columns=[*SLICE_COLUMNS, "quarter"])


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def scope_trends(snap: Snapshot, group_ids: tuple[str, ...] | None, config,
                 until: str | None = None) -> pd.DataFrame:
    """Indicators for the scope over every quarter up to ``until`` (for the trend charts).
    A selection is pooled for all quarters in one pass (metrics.api.slice_indicators_over)."""
    listed = [q for q in quarters(snap) if until is None or q <= until]
    if group_ids is None:
        program = program_indicators(snap)
        return program[program["quarter"].isin(listed)].reset_index(drop=True)
    pooled = _api(snap, "slice_indicators_over", listed, config, list(group_ids))
    frames = [_slice_frame(q, pooled[q]) for q in listed if pooled.get(q)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def movement_counts(snap: Snapshot, quarter: str,
                    group_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per indicator and direction: groups that moved since last quarter, and clearly so."""
    if not has(snap, "marts.indicators"):
        return pd.DataFrame(columns=["indicator", "direction", "moved", "clear"])
    return _api(snap, "movements", quarter, group_ids)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def reliability(snap: Snapshot, quarter: str | None = None) -> pd.DataFrame:
    """Cronbach's alpha per construct and quarter (pairwise deletion: every answer counts)."""
    if not has(snap, "marts.reliability"):
        return pd.DataFrame()
    frame = _api(snap, "reliability", quarter)
    if "policy" in frame:
        frame = frame[frame["policy"] == "pairwise"]
    return frame.reset_index(drop=True)


def reliability_warnings(snap: Snapshot, quarter: str) -> pd.DataFrame:
    rel = reliability(snap, quarter)
    return rel[rel["warning"].fillna(False).astype(bool)] if not rel.empty else rel


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def participation_funnel(snap: Snapshot, quarter: str | None) -> pd.DataFrame:
    """Members at each stage, for those who first joined in ``quarter`` (None: everyone)."""
    if not has(snap, "marts.participation_funnel"):
        return pd.DataFrame(columns=["stage", "members"])
    return _api(snap, "participation_funnel", quarter)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def retention_curve(snap: Snapshot) -> pd.DataFrame:
    if not has(snap, "marts.retention_curve"):
        return pd.DataFrame()
    return _api(snap, "retention_curve")


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def inclusion(snap: Snapshot, quarter: str) -> pd.DataFrame:
    if not has(snap, "marts.inclusion"):
        return pd.DataFrame()
    return _api(snap, "inclusion", quarter)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def review_report(snap: Snapshot, quarter: str, group_ids: tuple[str, ...] | None,
                  config) -> str:
    """The quarterly review for this scope as one self-contained HTML file."""
    from dashboard import quarterly
    from hearth.instrument import load_instrument
    from metrics.definitions import chance_sentence

    k = config.min_responses
    previous = previous_quarter(snap, quarter)
    return quarterly.build_report(
        program=config.program_name, quarter=quarter, previous=previous,
        scope=scope_label(snap, group_ids), k=k,
        tiles=quarterly.kpis(scope_indicators(snap, quarter, group_ids, config), k, previous),
        sentences=quarterly.highlights(movement_counts(snap, quarter, group_ids)),
        warnings=quarterly.reliability_sentences(reliability_warnings(snap, quarter),
                                                 load_instrument(config).titles),
        trends=scope_trends(snap, group_ids, config, until=quarter),
        funnel=participation_funnel(snap, quarter), retention=retention_curve(snap),
        inclusion=inclusion(snap, quarter),
        # (flags and the chance rate: issue 10)
        flags=flags(snap, quarter, group_ids),
        chance=chance_sentence(len(groups(snap))),
    )


# --- Compare groups ------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def group_indicators(snap: Snapshot, quarter: str | None, group_ids: tuple[str, ...],
                     indicators: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Indicators of the given groups (one quarter, or all), with each group's name."""
    frame = _api(snap, "indicators", quarter, list(group_ids),
                 among=list(indicators) if indicators else None)
    return _with_names(snap, frame)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def heatmap_rows(snap: Snapshot, quarter: str, group_ids: tuple[str, ...] | None,
                 indicators: tuple[str, ...], max_groups: int) -> tuple[pd.DataFrame, int]:
    """Per-group figures for the comparison heatmap: the first ``max_groups`` groups by name
    among those selected, and how many groups were selected in all."""
    frame = groups(snap)
    if group_ids is not None:
        frame = frame[frame["group_id"].isin(group_ids)]
    chosen = tuple(frame["group_id"].astype(str)[:max_groups])  # groups() is sorted by name
    if not chosen:
        return pd.DataFrame(), 0
    return group_indicators(snap, quarter, chosen, indicators), len(frame)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def attention(snap: Snapshot, quarter: str,
              group_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The groups in the order they need attention, with why, in words (metrics.api.attention,
    one DuckDB query over the released figures).

    First the groups flagged this quarter (coaching flags, where the audience has them), then
    those outside the funnel limits on the bad side (99.8% before 95%), then those with a clear
    fall since last quarter (the largest fall, in points or units, first), then the rest; names
    in natural order within each tier. Every input is a released figure of the read layer:
    funnel points exist only for shown figures, verdicts only for shown pairs.
    """
    if not has(snap, "marts.funnel_points"):
        return pd.DataFrame(columns=ATTENTION_COLUMNS)
    return _api(snap, "attention", quarter, group_ids)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def rollup(snap: Snapshot, quarter: str, config, dimension: str,
           group_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Indicators per coach, modality, language, time-zone band or cohort (metrics.api.rollup:
    each category pooled by the selection rule), for the groups the filters keep."""
    if not has(snap, "marts.indicators"):
        return pd.DataFrame()
    return _api(snap, "rollup", quarter, config, dimension,
                list(group_ids) if group_ids is not None else None)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def group_medians(snap: Snapshot, quarter: str) -> pd.DataFrame:
    """Per indicator, the median group and the interquartile range across every group this
    quarter: the yardstick the heatmap colours against (display scaling, not an indicator)."""
    if not has(snap, "marts.indicators"):
        return pd.DataFrame(columns=["indicator", "median", "spread"])
    return _api(snap, "group_medians", quarter)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def comparable_indicators(snap: Snapshot, quarter: str) -> list[str]:
    """Indicators that have funnel-plot points this quarter."""
    if not has(snap, "marts.funnel_points"):
        return []
    return _api(snap, "comparable_indicators", quarter)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def funnel_points(snap: Snapshot, quarter: str, indicator: str,
                  group_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    if not has(snap, "marts.funnel_points"):
        return pd.DataFrame()
    # the selection is kept by the query: a frame of every group's points cost more to build
    return _api(snap, "funnel", quarter, indicator,
                list(group_ids) if group_ids is not None else None)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def shrunken(snap: Snapshot, quarter: str, indicator: str,
             group_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    if not has(snap, "marts.shrunken"):
        return pd.DataFrame()
    return _api(snap, "shrunken", quarter, indicator,
                list(group_ids) if group_ids is not None else None)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def comments(snap: Snapshot, quarter: str, group_id: str | None = None) -> pd.DataFrame:
    """Anonymous comments of the program (or one group) this quarter; marts.comments holds only
    units that reached the comment threshold. Plain text only."""
    if not has(snap, "marts.comments"):
        return pd.DataFrame(columns=["comment"])
    return _api(snap, "comments", quarter, group_id)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def selection_comments(snap: Snapshot, quarter: str,
                       group_ids: tuple[str, ...]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Comments of the selected groups whose own lists were released this quarter, and the
    selected groups left out (metrics.api.selection_comments: whole released lists only)."""
    if not has(snap, "marts.comments"):
        return pd.DataFrame(columns=["group_id", "comment"]), tuple(group_ids)
    rows, left_out = _api(snap, "selection_comments", quarter, list(group_ids))
    return rows, tuple(left_out)


# --- Member-level reads: only within the viewer's own groups --------------------------------------
# Who may see whose members is decided at sign-in (hearth.access.Viewer.groups: None for a lead,
# a coach's own groups, nothing for the council). Every read that returns a member's name checks
# it here, where the data is read, so no page can show another coach's members by mistake.

class NotYourGroup(HearthError):
    """A member-level read of a group outside the viewer's own."""


def members_visible(group_id: str, within: frozenset[str] | None) -> None:
    """Raise NotYourGroup unless the viewer may see members of ``group_id`` (None: every group)."""
    if within is not None and str(group_id) not in within:
        raise NotYourGroup(f"group {group_id}: its members are shown only to its coach and the "
                           "program lead")


def own_groups(group_ids: tuple[str, ...] | None,
               within: frozenset[str] | None) -> tuple[str, ...] | None:
    """The filters' groups (None: all) narrowed to the viewer's own (None: all)."""
    if within is None:
        return group_ids
    return tuple(sorted(within if group_ids is None else set(group_ids) & within))


# --- Coach -----------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def flags(snap: Snapshot, quarter: str, group_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Flags raised for groups this quarter, with the group's name and coach."""
    if not has(snap, "marts.flags"):
        return pd.DataFrame(columns=["group_id", "group_name", "coach", "flag", "reason",
                                     "evidence"])
    frame = _api(snap, "flags", quarter, list(group_ids) if group_ids is not None else None)
    return _with_names(snap, frame, coach=True)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def watchlist(snap: Snapshot, quarter: str, group_id: str, *,
              within: frozenset[str] | None) -> pd.DataFrame:
    """Members of one group showing withdrawal signals (coach audience only); member-level,
    so only for a group ``within`` the viewer's own (see members_visible)."""
    members_visible(group_id, within)
    if not has(snap, "marts.watchlist"):
        return pd.DataFrame()
    frame = _api(snap, "watchlist", quarter, group_id)
    return frame[["member_name", "signal", "reason", "last_attended", "consecutive_missed"]] \
        .sort_values(["consecutive_missed", "member_name"], ascending=[False, True],
                     ignore_index=True)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def drifting_members(snap: Snapshot, quarter: str, *,
                     within: frozenset[str] | None = None) -> dict[str, int]:
    """Members with withdrawal signals per group (a count per group, no one named), for the
    groups ``within`` the viewer's own only (None: every group); empty where the snapshot has no
    watchlist (only the coach's has one). Member-level even as a count: another coach's group
    turning "to watch" for one drifting member would move the totals a coach reads of the rest
    of the program, against the lead's totals of the same groups (which hold no watchlist)."""
    if not has(snap, "marts.watchlist"):
        return {}
    counts = _api(snap, "drifting_members", quarter)
    return counts if within is None else {g: n for g, n in counts.items() if str(g) in within}


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_FUNCS)
def session_attendance(snap: Snapshot, group_id: str, *,
                       within: frozenset[str] | None) -> pd.DataFrame:
    """Each session of one group: expected, attended, and its host (a member's name), so
    only for a group ``within`` the viewer's own."""
    members_visible(group_id, within)
    if not has(snap, "marts.session_attendance"):
        return pd.DataFrame()
    return _api(snap, "session_attendance", group_id)


def evidence_text(evidence: object) -> str:
    """A flag's evidence (JSON text) as plain "name: value" parts for display."""
    if evidence is None or (isinstance(evidence, float) and pd.isna(evidence)):
        return ""
    try:
        data = json.loads(str(evidence))
    except ValueError:
        return str(evidence)
    if not isinstance(data, dict):
        return str(data)
    parts = []
    for key, value in data.items():
        if isinstance(value, float):  # counts arrive as floats from JSON: 19720.0, not 1.97e+04
            value = f"{value:,.0f}" if value.is_integer() or abs(value) >= 1000 else f"{value:.3g}"
        elif isinstance(value, list):
            value = ", ".join(str(v).replace("_", " ") for v in value)
        parts.append(f"{str(key).replace('_', ' ')}: {value}")
    return "; ".join(parts)


# --- Data page (what came in: raw tables, not metrics) --------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def load_manifest(snap: Snapshot) -> pd.DataFrame:
    """One row per file loaded, newest first, with what happened to its rows."""
    if not has(snap, "published.load_manifest"):
        return pd.DataFrame(columns=["load_id", "file_name", "kind", "format", "loaded_at",
                                     "rows_read", "rows_loaded", "rows_duplicate",
                                     "rows_quarantined", "dropped_columns", "guests", "notes"])
    return _api(snap, "load_manifest")


QUARANTINE_SHOWN = 2000


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def quarantine_summary(snap: Snapshot) -> pd.DataFrame:
    """Quarantined rows counted by file and reason."""
    if not has(snap, "published.quarantine"):
        return pd.DataFrame(columns=["file_name", "reason", "rows", "first_line"])
    return _api(snap, "quarantine_summary")


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def quarantine_rows(snap: Snapshot, limit: int | None = QUARANTINE_SHOWN) -> pd.DataFrame:
    """The quarantined rows themselves (file, line, column, reason, value), newest load first."""
    if not has(snap, "published.quarantine"):
        return pd.DataFrame(columns=["load_id", "file_name", "line", "column_name", "reason",
                                     "value"])
    return _api(snap, "quarantine_rows", limit)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_FUNCS)
def freshness(snap: Snapshot) -> pd.DataFrame:
    """Per group, the newest session, attendance and survey dates, and how many days its newest
    session lags the newest session anywhere in the program (a group whose exports stopped
    stands out)."""
    if not has(snap, "marts.freshness"):
        return pd.DataFrame()
    frame = _with_names(snap, _api(snap, "freshness"))
    latest = pd.to_datetime(frame["latest_session_date"])
    frame["days_behind"] = (latest.max() - latest).dt.days
    columns = ["group_id", "group_name", "latest_session_date", "latest_attendance_date",
               "latest_survey_quarter", "days_behind"]
    return frame[columns].sort_values(["days_behind", "group_name"], ascending=[False, True],
                                      na_position="first", ignore_index=True)


def docs_path(name: str) -> Path:
    """A file in the project's docs/ folder."""
    return Path(__file__).resolve().parents[1] / "docs" / name
