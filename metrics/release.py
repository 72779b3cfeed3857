"""What leaves the warehouse: the disclosure control every survey figure passes through.

The rule itself is metrics.anonymity's (primary and secondary suppression at k, comments at
k_comments); this module decides, per publication, *which* figures exist and from what:

Units and parents
    A survey figure is a sum over **units**: each group, and the responses that name no known
    group (unit ``""``). The program is the sum of every unit; a breakdown category (modality,
    language, time-zone band) and a selection of groups are sums of *released* groups only, for
    that indicator. Suppression runs per quarter x indicator over all units, the no-known-group
    unit included, so "program minus the shown groups" always covers 0 or at least k responses.

The ledger (over time)
    What was last published per quarter x indicator x unit is kept in ``release.survey_ledger``.
    A unit's entry moves to its current answers only when its responses changed by at least k
    since the last publication (or when the quarter is published for the first time); smaller
    increments are held back until more arrive. Every published figure is a sum of ledger
    entries, so the difference of two publications is a sum of whole ledger moves of at least k
    responses each: a late response is never isolated by comparing publications.

Comments
    The same, at k_comments, counting responses: a group's list is shown when the group has
    enough responses and is not hidden by secondary suppression; the program's list pools
    every unit's comments and is shown when the program has enough. A unit's list moves with
    its ``responses`` ledger entry, so it too changes only by whole steps of at least k.

Every figure of a publication is recorded in ``release.figures`` as the ledger entries it sums
(see metrics.audit, `hearth privacy-check`). What each audience may read is
hearth.warehouse.AUDIENCE_TABLES; the dashboard opens only its audience's snapshot.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from hearth.config import Config
from metrics.anonymity import (
    HIDDEN_NOTE,
    POOLED_LABEL,
    SliceDecision,
    pool_quarters,
    slice_of_shown_groups,
    suppress_small_cells,
    suppression_label,
    validate_k,
)
from metrics.audit import determined_hidden  # the auditor is the rule's own test
from metrics.definitions import SURVEY_KEYS, SURVEY_MEANS
from metrics.frames import query_frame
from metrics.scoring import figures_of

UNKNOWN_UNIT = ""  # the unit of responses that name no known group
RESPONSES = "responses"  # ledger pseudo-indicator: responses of any kind (comment thresholds)
COMMENTS = "comments"  # the indicator name of comment lists in release.figures
STATS = ("n", "sum_score", "sum_sq", "hits")
LEDGER_COLUMNS = ("quarter", "indicator", "unit", *STATS, "version")

# --------------------------------------------------------------------------------------------
# the ledger


def advance_ledger(previous: pd.DataFrame, current: pd.DataFrame, k: int,
                   publication: int) -> pd.DataFrame:
    """The ledger after one more publication.

    Parameters
    ----------
    previous : DataFrame
        The ledger as last published (``LEDGER_COLUMNS``; empty before the first publication).
    current : DataFrame
        quarter, indicator, unit and the statistics ``STATS`` of the answers now in the warehouse.
    k : int
        Minimum responses.
    publication : int
        This publication's number: the ``version`` of every entry that moves now.

    Returns
    -------
    DataFrame
        ``LEDGER_COLUMNS``. For a quarter x indicator never published before, every unit takes
        its current statistics. Otherwise a unit takes its current statistics only when its n
        moved by at least k from the published n (a unit not published before counts from 0,
        a unit whose answers vanished counts as 0 now); else it keeps what was published, so
        its figure does not move at all. ``version`` is the publication an entry last moved in.

    Notes
    -----
    Why: a figure published with n = 8 and then n = 9 gives one late response exactly, by
    subtraction; the program total would give it too, even for a hidden group. With this rule
    every figure is a sum of ledger entries and each entry moves by whole steps of at least k
    responses.
    """
    k = validate_k(k)
    keys = ["quarter", "indicator", "unit"]
    prev = previous.reindex(columns=list(LEDGER_COLUMNS))
    cur = current.reindex(columns=[*keys, *STATS])
    merged = prev.merge(cur, on=keys, how="outer", suffixes=("_old", ""))
    published = set(map(tuple, prev[["quarter", "indicator"]].drop_duplicates().to_numpy()))
    known = np.array([(q, i) in published for q, i in
                      zip(merged["quarter"].tolist(), merged["indicator"].tolist(), strict=True)],
                     dtype=bool)
    n_now = merged["n"].fillna(0).to_numpy(dtype=float)
    n_old = merged["n_old"].fillna(0).to_numpy(dtype=float)
    take = ~known | (np.abs(n_now - n_old) >= k)
    out = merged[keys].copy()
    for column in STATS:
        out[column] = np.where(take, merged[column].to_numpy(dtype=float),
                               merged[f"{column}_old"].to_numpy(dtype=float))
    out["version"] = np.where(take, publication, merged["version"].fillna(0).to_numpy())
    out["n"] = pd.Series(out["n"]).fillna(0)
    out = out[out["n"] > 0].copy()
    out["n"] = out["n"].astype("int64")
    out["version"] = out["version"].astype("int64")
    return out[list(LEDGER_COLUMNS)].sort_values(keys, ignore_index=True)


def _current_stats(con: duckdb.DuckDBPyConnection, since: str = "") -> pd.DataFrame:
    """The answers now in the warehouse as per-unit statistics (plus the responses counts),
    of the quarters from `since` on."""
    return query_frame(con,
        """
        SELECT * FROM (
            SELECT quarter, indicator, coalesce(group_id, '') AS unit, n, sum_score, sum_sq,
                   hits::DOUBLE AS hits
            FROM stage_survey_units
            UNION ALL
            SELECT quarter, 'responses', coalesce(group_id, ''), responses, NULL, NULL, NULL
            FROM stage_survey_responses)
        WHERE quarter >= ?
        """, [since])


def advance_publication(con: duckdb.DuckDBPyConnection, config: Config,
                        since: str | None = None) -> tuple[int, pd.DataFrame]:
    """Move release.survey_ledger (and the comment ledger) on by one publication.

    Runs inside `hearth refresh`'s transaction, after the SQL steps. ``since``: the first
    quarter this refresh rebuilds (None or '': all); earlier quarters' entries stay as they
    are. Returns the new publication number and the ledger of the quarters rebuilt.
    """
    since = since or ""
    # earlier quarters' entries stay as they are (read and scored only from `since` on)
    previous = query_frame(con, f"SELECT {', '.join(LEDGER_COLUMNS)} FROM release.survey_ledger "
                           "WHERE quarter >= ?", [since])
    current = _current_stats(con, since)
    publication = con.execute(
        "SELECT coalesce(max(publication), 0) + 1 FROM release.publications").fetchall()[0][0]
    # Figures move in steps of k responses; comment lists (the responses pseudo-indicator) in
    # steps of k_comments: a late batch of k responses with one comment would otherwise add that
    # comment to its group's list, attributed (by comparing publications) to fewer than
    # k_comments responses.
    counted = previous["indicator"] == RESPONSES
    ledger = pd.concat([
        advance_ledger(previous[~counted], current[current["indicator"] != RESPONSES],
                       config.min_responses, publication),
        advance_ledger(previous[counted], current[current["indicator"] == RESPONSES],
                       max(config.min_comments, config.min_responses), publication),
    ], ignore_index=True)
    # plain dicts and sets: per-key lookups into pandas indexes (and a set rebuilt for every
    # key) made this quadratic, minutes at 10,000 groups
    # (columns as Python lists: iterating Arrow-backed columns value by value is slow)
    old = previous[previous["indicator"] == RESPONSES]
    old_versions = dict(zip(zip(old["quarter"].tolist(), old["unit"].tolist(), strict=True),
                            old["version"].tolist(), strict=True))
    responses = ledger[ledger["indicator"] == RESPONSES]
    moved = [(q, u) for q, u, v in zip(*(responses[c].tolist() for c in ("quarter", "unit",
                                                                          "version")),
                                       strict=True)
             if old_versions.get((q, u)) != v]
    now = set(zip(responses["quarter"].tolist(), responses["unit"].tolist(), strict=True))
    gone = [key for key in old_versions if key not in now]
    con.register("_hearth_ledger", ledger)
    try:
        # entries that leave the ledger now (their answers vanished)
        left = con.execute(
            "SELECT count(*) FROM release.survey_ledger l WHERE l.quarter >= ? AND NOT EXISTS ("
            "SELECT 1 FROM _hearth_ledger n WHERE n.quarter = l.quarter "
            "AND n.indicator = l.indicator AND n.unit = l.unit)", [since]).fetchone()[0]
        # Only the entries that moved now (version = this publication) or left are rewritten:
        # every other entry is the one published before, as it stands (rewriting the whole
        # ledger of the rebuilt quarters cost most of this function at 10,000 groups).
        con.execute(
            "DELETE FROM release.survey_ledger l WHERE l.quarter >= ? AND NOT EXISTS ("
            "SELECT 1 FROM _hearth_ledger n WHERE n.quarter = l.quarter "
            "AND n.indicator = l.indicator AND n.unit = l.unit AND n.version = l.version)",
            [since])
        con.execute("INSERT INTO release.survey_ledger SELECT * FROM _hearth_ledger "
                    "WHERE version = ?", [publication])
    finally:
        con.unregister("_hearth_ledger")
    changed = pd.DataFrame(moved + gone, columns=["quarter", "unit"])
    if len(changed):
        con.register("_hearth_moved", changed)
        try:
            con.execute("DELETE FROM release.comment_ledger c USING _hearth_moved m "
                        "WHERE c.quarter = m.quarter AND c.unit = m.unit")
            con.execute(
                """
                INSERT INTO release.comment_ledger
                SELECT r.quarter, coalesce(r.group_id, ''), trim(r.comment)
                FROM stage_responses r
                SEMI JOIN (SELECT * FROM _hearth_moved) m
                  ON m.quarter = r.quarter AND m.unit = coalesce(r.group_id, '')
                WHERE r.comment IS NOT NULL AND trim(r.comment) <> ''
                """
            )
        finally:
            con.unregister("_hearth_moved")
    # the frozen answers of entries that left the ledger go too
    freeze_answers(con, since, publication, left=bool(left))
    con.execute("INSERT INTO release.publications VALUES (?, ?)",
                [publication, datetime.now(UTC)])
    return int(publication), ledger


def freeze_answers(con: duckdb.DuckDBPyConnection, since: str, publication: int,
                   left: bool = True) -> None:
    """Keep the answers behind each ledger entry as it stands (release.score_ledger, item_ledger).

    An entry's scores and item answers are replaced when the entry moved in this publication;
    an entry never frozen (a warehouse from before these tables) takes its current answers
    only when they are exactly as many as the ledger says. The item answers follow the
    construct's own entries (not the unit's responses), so Cronbach's alpha and its n are
    statistics of the same entries as the program's figure of that construct, which the
    auditor checks.
    Whatever is derived from answers rather than from the ledger's sums - the Mann-Whitney test
    of a change, a flag's within-group spread, Cronbach's alpha - reads these, so a late
    response held back by the ledger moves none of them either.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _hearth_current AS
        SELECT quarter, indicator, coalesce(group_id, '') AS unit, n FROM stage_survey_units
        UNION ALL
        SELECT quarter, 'responses', coalesce(group_id, ''), responses FROM stage_survey_responses
        """)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _hearth_refreeze AS
        SELECT l.quarter, l.indicator, l.unit FROM release.survey_ledger l
        LEFT JOIN _hearth_current c USING (quarter, indicator, unit)
        WHERE l.quarter >= $since AND (
            l.version = $publication
            OR (l.n = coalesce(c.n, 0) AND l.indicator <> 'responses' AND NOT EXISTS (
                SELECT 1 FROM release.score_ledger s WHERE s.quarter = l.quarter
                  AND s.indicator = l.indicator AND s.unit = l.unit)))
        """, {"since": since, "publication": publication})
    if not left and not con.execute("SELECT count(*) FROM _hearth_refreeze").fetchone()[0]:
        # no entry moved, none left the ledger: every frozen answer stands (the frozen tables
        # hold entries of the ledger only, so there is nothing to delete; a refresh after a
        # week of attendance alone scanned millions of item answers here for nothing)
        con.execute("DROP TABLE _hearth_current")
        con.execute("DROP TABLE _hearth_refreeze")
        return
    # entries re-frozen now, or no longer in the ledger (their answers vanished), lose theirs
    for frozen in ("score_ledger", "item_ledger"):
        con.execute(
            f"""
            DELETE FROM release.{frozen} s WHERE s.quarter >= $since AND (
                EXISTS (SELECT 1 FROM _hearth_refreeze r WHERE r.quarter = s.quarter
                        AND r.indicator = s.indicator AND r.unit = s.unit)
                OR NOT EXISTS (SELECT 1 FROM release.survey_ledger l WHERE l.quarter = s.quarter
                               AND l.indicator = s.indicator AND l.unit = s.unit))
            """, {"since": since})
    con.execute(
        """
        INSERT INTO release.score_ledger
        SELECT s.quarter, s.indicator, s.unit, s.score FROM (
            SELECT quarter, coalesce(group_id, '') AS unit, score,
                   CASE construct WHEN 'loneliness' THEN 'loneliness_share' ELSE construct END
                       AS indicator
            FROM marts.survey_scores) s
        SEMI JOIN _hearth_refreeze r USING (quarter, indicator, unit)
        """)
    con.execute(  # the item answers of the responses that count for the construct
        # (the entries re-frozen kept before counting: a response's answers to one construct
        # all belong to one entry, so each count sees the same rows, and only those entries'
        # answers are counted)
        """
        INSERT INTO release.item_ledger
        SELECT quarter, indicator, unit, response_id, construct, item_id, keyed FROM (
            SELECT quarter, unit, response_id, construct, indicator, item_id, keyed,
                   count(*) OVER (PARTITION BY response_id, construct) * 2 >= n_items AS counts
            FROM (
                SELECT r.quarter, coalesce(r.group_id, '') AS unit, s.response_id,
                       s.construct, CASE s.construct WHEN 'loneliness' THEN 'loneliness_share'
                                    ELSE s.construct END AS indicator,
                       s.item_id, s.keyed, c.n_items
                FROM stage_item_scores s JOIN stage_responses r USING (response_id)
                JOIN stage_constructs c USING (construct))
            SEMI JOIN _hearth_refreeze f USING (quarter, indicator, unit))
        WHERE counts
        """)
    con.execute("DROP TABLE _hearth_current")
    con.execute("DROP TABLE _hearth_refreeze")


# --------------------------------------------------------------------------------------------
# figures from ledger statistics


def figures_from_stats(units: pd.DataFrame) -> pd.DataFrame:
    """value and 95% interval (t for means, Wilson for shares) from n, sum_score, sum_sq, hits."""
    out = units.copy()
    n = out["n"].astype(float).to_numpy()
    with np.errstate(all="ignore"):
        mean = out["sum_score"].astype(float).to_numpy() / n
        var = (out["sum_sq"].astype(float).to_numpy() - n * mean ** 2) / (n - 1)
    out["mean"] = mean
    out["sd"] = np.where(n > 1, np.sqrt(np.clip(var, 0, None)), np.nan)
    return figures_of(out)


def _term(quarter: str, unit: str, version: int) -> str:
    return f"{quarter}|{unit}@{int(version)}"


def survey_release(con: duckdb.DuckDBPyConnection, config: Config, publication: int,
                   ledger: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every survey figure of this publication, after the rule.

    Returns ``indicators`` (marts.indicators rows: groups and program), ``units`` (marts.survey_units:
    the statistics selections and categories pool, released rows only), and ``figures`` (rows
    for release.figures).
    """
    k = config.min_responses
    stats = ledger[ledger["indicator"].isin(SURVEY_KEYS)].copy()
    groups_of = con.execute("SELECT group_id FROM core.groups").fetchall()
    known_groups = {g for (g,) in groups_of}
    quarters = con.execute(
        "SELECT DISTINCT quarter FROM stage_group_quarters UNION "
        "SELECT DISTINCT quarter FROM stage_survey_units").fetchall()
    group_quarters = con.execute("SELECT DISTINCT quarter, group_id FROM stage_group_quarters").df()
    # Every group of a quarter with sessions is a unit even without responses (an empty row
    # states "no responses" the same way for all), plus every unit in the ledger.
    frame = pd.concat([
        stats,
        pd.DataFrame([(q, i, g) for q, g in zip(group_quarters["quarter"].tolist(),
                                                group_quarters["group_id"].tolist(), strict=True)
                      for i in SURVEY_KEYS], columns=["quarter", "indicator", "unit"]),
        pd.DataFrame([(q, i, UNKNOWN_UNIT) for (q,) in quarters for i in SURVEY_KEYS],
                     columns=["quarter", "indicator", "unit"]),
    ], ignore_index=True).drop_duplicates(["quarter", "indicator", "unit"], keep="first")
    frame = frame[frame["unit"].isin(known_groups) | frame["unit"].eq(UNKNOWN_UNIT)]
    frame["n"] = frame["n"].fillna(0).astype("int64")
    frame["version"] = frame["version"].fillna(0).astype("int64")
    for column in ("sum_score", "sum_sq", "hits"):
        frame[column] = frame[column].fillna(0.0)
    units = figures_from_stats(frame.reset_index(drop=True))
    shown = suppress_small_cells(
        units, value_cols=("value", "ci_low", "ci_high", "mean", "sd", "hits", "sum_score",
                           "sum_sq"),
        parent_cols=("quarter", "indicator"), unit_col="unit", k=k,
    )
    program = (units.groupby(["quarter", "indicator"], as_index=False)[list(STATS)].sum())
    program = suppress_small_cells(  # primary only: each program figure is its own parent
        figures_from_stats(program),
        value_cols=("value", "ci_low", "ci_high", "mean", "sd", "hits", "sum_score", "sum_sq"),
        parent_cols=("quarter", "indicator"), k=k,
    )
    program["unit"] = None

    # what each figure sums, for the auditor; then hide more until no hidden figure of this or
    # any earlier publication is determined by everything shown so far
    # (columns as Python lists: iterating Arrow-backed string columns value by value, as
    # itertuples does, took seconds at 10,000 groups)
    quarter_of, unit_of, indicator_of = (units[c].tolist() for c in ("quarter", "unit",
                                                                      "indicator"))
    term_of = [_term(q, u, v) for q, u, v in zip(quarter_of, unit_of, units["version"].tolist(),
                                                 strict=True)]
    # (built by column, not as a list of row tuples: a frame of 100,000 tuples took seconds)
    is_group = units["unit"].to_numpy(dtype=object) != UNKNOWN_UNIT
    ok = shown["status"].to_numpy(dtype=object) == "ok"
    unanswered = units["n"].to_numpy() == 0
    unit_figures = pd.DataFrame({
        "publication": publication, "quarter": quarter_of, "indicator": indicator_of,
        "figure": [f"group:{u}" if u != UNKNOWN_UNIT else f"unknown:{u}" for u in unit_of],
        "role": np.where(ok & is_group, "shown",
                         np.where(ok | unanswered, "allowed", "hidden")).tolist(),
        "terms": [[term] for term in term_of], "n": units["n"].tolist()})
    # sorted: in the units' order, which changes between publications, an unchanged program
    # figure never matched its earlier row, and the history kept a copy per publication
    all_terms: dict[tuple[str, str], list[str]] = {}
    for q, i, term in zip(quarter_of, indicator_of, term_of, strict=True):
        all_terms.setdefault((q, i), []).append(term)
    for sums in all_terms.values():
        sums.sort()
    records = []
    for row in program.itertuples(index=False):
        role = "shown" if row.status == "ok" else "hidden"
        records.append((publication, row.quarter, row.indicator, "program", role,
                        all_terms.get((row.quarter, row.indicator), []), np.inf))
    if config.pool_quarters:
        # a pooled pair of quarters is one more shown sum: it is settled with the rest (it
        # ties two quarters' systems together; left out, later publications could not be
        # settled against it)
        provisional = shown[shown["unit"] != UNKNOWN_UNIT].rename(columns={"unit": "group_id"})
        provisional_pooled = _pooled(provisional, units, k, publication)[1]
        records += [(*r, np.inf) for r in provisional_pooled]
    records = settle_against_history(con, pd.concat(
        [unit_figures, pd.DataFrame(records, columns=[*FIGURE_COLUMNS, "n"])],
        ignore_index=True))
    pooled_hidden = {(q, f.removeprefix("pooled:")) for q, f, r in
                     zip(*(records[c].tolist() for c in ("quarter", "figure", "role")),
                         strict=True)
                     if f.startswith("pooled:") and r == "hidden"}
    extra = records[records["role"].eq("hidden") & records["was"].eq("shown")]
    if len(extra):
        hide = set(zip(extra["quarter"], extra["indicator"], extra["figure"], strict=True))
        groups_hidden = np.array([(q, i, f"group:{u}") in hide for q, i, u in
                                  zip(*(shown[c].tolist() for c in ("quarter", "indicator",
                                                                     "unit")), strict=True)],
                                 dtype=bool)
        shown = _hide(shown, groups_hidden)
        program_hidden = np.array([(q, i, "program") in hide for q, i in
                                   zip(program["quarter"].tolist(),
                                       program["indicator"].tolist(), strict=True)],
                                  dtype=bool)
        program = _hide(program, program_hidden)
    figures = records[list(FIGURE_COLUMNS)]

    group_rows = shown[shown["unit"] != UNKNOWN_UNIT].rename(columns={"unit": "group_id"})
    program_rows = program.rename(columns={"unit": "group_id"})
    out = pd.concat([program_rows, group_rows], ignore_index=True)
    out["pooled"] = False
    # one note for every hidden figure: which reason hid it is itself about its count
    # (anonymity.HIDDEN_NOTE); decided once per reason (a handful), not once per figure
    reasons = out["suppression"].astype(object).where(out["suppression"].notna(), None).tolist()
    notes = {r: None if suppression_label(r, k) is None else HIDDEN_NOTE(k) for r in set(reasons)}
    out["note"] = [notes[r] for r in reasons]
    units_table = group_rows.assign(version=group_rows["version"])
    units_table = units_table[units_table["status"] == "ok"]

    if config.pool_quarters:  # (their figures are in records already, settled)
        out, _ = _pooled(out, units, k, publication, skip=pooled_hidden,
                         allowed={(r[1], r[3].removeprefix("pooled:"), r[2])
                                  for r in provisional_pooled})
    out = _listed(out, group_quarters)
    out["target"] = np.nan
    indicators = out[["quarter", "group_id", "indicator", "value", "n", "ci_low", "ci_high",
                      "status", "pooled", "hits", "target", "note", "sd"]]
    return {
        "indicators": indicators.sort_values(["quarter", "group_id", "indicator"],
                                             na_position="first", ignore_index=True),
        "units": units_table[["quarter", "group_id", "indicator", *STATS]].reset_index(drop=True),
        "figures": figures,
    }


def _listed(out: pd.DataFrame, group_quarters: pd.DataFrame) -> pd.DataFrame:
    """The rows a publication lists: every group of a quarter (sessions or members then), shown
    or hidden, and the program of such a quarter; any other row only when it is shown.

    A group with no sessions or members in a quarter has a unit there only when it has
    responses, so a hidden row of it would say that it has some (one response dated after the
    last session loaded made a new quarter listing the one group it named); its responses
    still count in the program and among the hidden siblings. Likewise the program's hidden
    rows in a quarter that is no group's would say that someone answered then."""
    hidden = (out["status"] == "suppressed").to_numpy(dtype=bool)
    if not hidden.any():
        return out
    # (vectorised: a Python test per row took a noticeable part of a second at 10,000 groups)
    rows = out[hidden]
    pairs = pd.MultiIndex.from_frame(group_quarters[["quarter", "group_id"]])
    group_listed = pd.MultiIndex.from_arrays([rows["quarter"], rows["group_id"]]).isin(pairs)
    quarter_listed = rows["quarter"].isin(group_quarters["quarter"].unique()).to_numpy(dtype=bool)
    keep = ~hidden
    keep[hidden] = np.where(rows["group_id"].isna().to_numpy(), quarter_listed, group_listed)
    return out[keep].reset_index(drop=True)


FIGURE_COLUMNS = ("publication", "quarter", "indicator", "figure", "role", "terms")
HIDDEN_VALUES = ("value", "ci_low", "ci_high", "mean", "sd", "hits", "sum_score", "sum_sq")


def _hide(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """Rows of a suppressed table hidden as well (secondary: to protect another figure)."""
    if not mask.any():
        return frame
    out = frame.copy()
    out.loc[mask, "status"] = "suppressed"
    out.loc[mask, "suppression"] = "secondary"
    out["n"] = out["n"].astype("Int64").mask(pd.Series(mask, index=out.index))
    for column in HIDDEN_VALUES:
        if column in out:
            out.loc[mask, column] = np.nan
    return out


def settle_against_history(con: duckdb.DuckDBPyConnection, current: pd.DataFrame) -> pd.DataFrame:
    """This publication's figures, with more hidden until none hidden is determined.

    ``current`` holds ``FIGURE_COLUMNS`` plus ``n`` (responses, to pick the smallest). The
    auditor (metrics.audit) solves every shown figure of every publication of the same
    quarters, this one included; while it determines a hidden figure, the smallest shown group
    figure of that quarter x indicator in this publication is hidden too (the program's when no
    group is left). Returns the rows with ``role`` settled and ``was`` (the role before).

    Why: secondary suppression within one publication is not enough over time. A group hidden
    to protect a small one can be shown later, when the small one has grown; the older
    program total minus it would then give the small group's old figure back.
    """
    current = current.assign(was=current["role"])
    quarters = sorted(current["quarter"].unique())
    indicators = sorted(current["indicator"].unique())
    # (allowed figures of earlier publications take no part: metrics.audit.determined_hidden)
    history_of = (
        "FROM release.figures WHERE role <> 'allowed' AND quarter IN "
        "(SELECT unnest(?::VARCHAR[])) AND indicator IN (SELECT unnest(?::VARCHAR[]))")
    # Each earlier figure's sum as a key (_sum_key): a figure of one entry (nearly all of them)
    # is read as that entry alone (through Arrow), only the few others with their lists; the
    # lists of every figure are read only when a pass must solve a system (reading them, and a
    # set of each, was most of the work at 10,000 groups).
    sums = query_frame(
        con, "SELECT indicator, role, figure LIKE 'pooled:%' AS pooled, "
        f"CASE WHEN len(terms) = 1 THEN terms[1] END AS entry {history_of}",
        [quarters, indicators])
    spans_quarters = current["figure"].str.startswith("pooled:").any()
    if sums.empty and not spans_quarters:
        return current  # one publication alone: suppress_small_cells' argument covers it
    single = sums["entry"].notna().to_numpy(dtype=bool)
    others = con.execute(f"SELECT indicator, role, terms {history_of} AND len(terms) <> 1",
                         [quarters, indicators]).df()
    # A sum shown before is public for good - an entry shown on its own, or exactly these
    # entries together (last publication's program total, unchanged): hiding it now protects
    # nothing, so it is neither a hidden figure to protect nor a figure worth hiding.
    # (Plain lists, not itertuples over Arrow columns: this runs over every figure.)
    history_indicators = [*sums["indicator"][single].tolist(), *others["indicator"].tolist()]
    history_keys = [*sums["entry"][single].tolist(),
                    *(_sum_key(t) for t in others["terms"].tolist())]
    history_roles = [*sums["role"][single].tolist(), *others["role"].tolist()]
    public = {(i, s) for i, s, r in zip(history_indicators, history_keys, history_roles,
                                        strict=True)
              if r == "shown"}
    # each current figure's sum as a key once (the passes below look at them again)
    current_keys = [_sum_key(t) for t in current["terms"].tolist()]
    single_public = pd.Series(
        [(i, t) in public
         for i, t in zip(current["indicator"].tolist(), current_keys, strict=True)],
        index=current.index, dtype=bool)
    current.loc[single_public & current["role"].eq("hidden"), "role"] = "allowed"
    # Every earlier publication was settled against the history before it, so these quarters'
    # history determines no hidden figure (a part of a settled system is settled: fewer rows
    # determine less). Where this publication shows only sums shown before and hides only sums
    # hidden before, the system is that history's and nothing can be found. Entries belong to
    # one quarter, so without pooled pairs of quarters every quarter x indicator is a system of
    # its own: only those where this publication adds a sum are solved, and none at all when
    # it adds nothing (the usual refresh after a week of attendance, no ledger entry moving:
    # at 10,000 groups most of a refresh's release work).
    hidden_before = {(i, s) for i, s, r in zip(history_indicators, history_keys,
                                               history_roles, strict=True)
                     if r == "hidden"}
    by_quarter = not spans_quarters and not sums["pooled"].any()
    quarter_list, indicator_list = current["quarter"].tolist(), current["indicator"].tolist()

    def adding() -> set:
        """(indicator, quarter) of the figures whose sum (with their role now) is new."""
        return {(i, q if by_quarter else None) for i, q, s, r in zip(
            indicator_list, quarter_list, current_keys, current["role"].tolist(), strict=True)
            if r != "allowed" and (i, s) not in (public if r == "shown" else hidden_before)}

    if not adding():
        return current
    history = con.execute(
        f"SELECT publication, quarter, indicator, figure, role, terms {history_of}",
        [quarters, indicators]).df()
    current_sums = [_entries(t) for t in current["terms"].tolist()]
    # Indicators are independent systems (metrics.audit), and a pass changes roles only within
    # the indicators it found something in: every other indicator's system is as it was and
    # has nothing to find, so each later pass solves only the indicators the last one found in.
    unsettled = None  # every indicator
    for _ in range(len(current) + 1):
        everything = pd.concat([history, current[list(FIGURE_COLUMNS)]], ignore_index=True)
        if unsettled is not None:
            everything = everything[everything["indicator"].isin(unsettled)]
        if by_quarter:  # (the quarter x indicator systems this publication adds to)
            solving = adding()
            everything = everything[[(i, q) in solving for i, q in zip(
                everything["indicator"].tolist(), everything["quarter"].tolist(), strict=True)]]
        found = determined_hidden(everything)
        if not found:
            return current
        unsettled = sorted({f.indicator for f in found})
        # the entries of the hidden figures found (only theirs: sets of every hidden figure
        # of every publication cost more than the rest of a pass)
        wanted = {(f.publication, f.quarter, f.indicator, f.figure) for f in found}
        hidden_terms = {(p, q, i, f): _entries(t) for p, q, i, f, r, t in zip(
            *(everything[c].tolist() for c in FIGURE_COLUMNS), strict=True)
            if r == "hidden" and (p, q, i, f) in wanted}
        picked = set()
        for f in found:
            open_ = (current["indicator"] == f.indicator) & current["role"].eq("shown") \
                & ~single_public
            here = open_ & (current["quarter"] == f.quarter)
            # first a shown figure of the same entries (a figure hidden once stays hidden while
            # its entries do not move), then the smallest shown group, then the program; and
            # when the quarter has none left, the same in the other quarters (a pooled pair of
            # quarters ties two quarters together)
            terms = hidden_terms.get((f.publication, f.quarter, f.indicator, f.figure),
                                     frozenset())
            same = open_ & pd.Series([not terms.isdisjoint(t) for t in current_sums],
                                     index=current.index, dtype=bool)
            groups = current["figure"].str.startswith("group:")
            for candidates in (current[same & groups & here], current[groups & here],
                               current[here], current[same & groups], current[same],
                               current[open_ & groups], current[open_]):
                if not candidates.empty:
                    picked.add(candidates.sort_values(["n", "figure"], kind="stable").index[0])
                    break
        if not picked:
            raise RuntimeError(
                "release: hidden figure(s) determined by earlier publications alone: "
                + ", ".join(f"{f.quarter} {f.indicator} {f.figure}" for f in found))
        current.loc[sorted(picked), "role"] = "hidden"
    raise RuntimeError("release: could not settle the figures against earlier publications")


def _entries(terms) -> frozenset:
    """A figure's ledger entries as a set (a list, or an array as DuckDB hands them over)."""
    return frozenset(terms.tolist() if isinstance(terms, np.ndarray) else terms)


def _sum_key(terms) -> Hashable:
    """A key equal for two figures exactly when they sum the same ledger entries: the entry
    itself for a sum of one entry (most figures: building a set for each cost seconds at
    10,000 groups), else the set of entries."""
    if len(terms) == 1:
        return str(terms[0])
    entries = _entries(terms)
    return next(iter(entries)) if len(entries) == 1 else entries


def _pooled(out: pd.DataFrame, units: pd.DataFrame, k: int, publication: int,
            skip: set[tuple[str, str]] = frozenset(),
            allowed: set[tuple[str, str, str]] | None = None) -> tuple[pd.DataFrame, list]:
    """Groups' fixed pairs of quarters shown pooled, per (second quarter, indicator) for every
    group hidden in both quarters or for none.

    A pair pools when both its quarters are hidden in ``out``, for whatever reason, and hold at
    least k responses together (``anonymity.pool_quarters(each_below_k=False)``); and only when
    *every* group hidden in both quarters of that pair and indicator can be pooled. Pooling only
    the groups under k in each quarter (as before) told which hidden group is the small one -
    hidden for its own count, not to protect another - which the one hidden-figure note
    (``anonymity.HIDDEN_NOTE``) keeps out of every output; and pooling each eligible group on
    its own would say the same of one left out (its pair under k). All or none says only that
    every such group's pair holds k. The (second quarter, group) pairs in ``skip`` were hidden
    by the settling, and a pair outside ``allowed`` (the pooled figures the settling saw, as
    (quarter, group, indicator)) is not shown: either takes its whole parent's pooled figures
    with it (hiding more never determines anything)."""
    groups = units[units["unit"] != UNKNOWN_UNIT].rename(columns={"unit": "group_id"})
    key = ["quarter", "group_id", "indicator"]
    hidden_rows = out[out["status"].ne("ok") & out["group_id"].notna()]
    answered = groups[groups["n"] > 0]  # no answers is public ("allowed"), nothing to pool
    hidden = set(zip(*(hidden_rows[c].tolist() for c in key), strict=True)) & set(
        zip(*(answered[c].tolist() for c in key), strict=True))
    if not hidden:
        return out, []
    # only quarters hidden in this release may enter a pair
    candidates = groups[[(q, g, i) in hidden for q, g, i in
                         zip(*(groups[c].tolist() for c in key), strict=True)]]
    pooled = pool_quarters(candidates, unit_cols=("group_id", "indicator"), n_col="n",
                           sum_cols=("sum_score", "sum_sq", "hits"), k=k, each_below_k=False)
    if pooled.empty:
        return out, []
    # every group hidden in both quarters of a pair (with answers in each) must pool
    first_of = {q: f for f, q in (p.split("+") for p in pooled["pooled_quarters"])}
    needed: dict[tuple[str, str], set[str]] = {}
    for q, g, i in hidden:
        first = first_of.get(q)
        if first is not None and (first, g, i) in hidden:
            needed.setdefault((q, i), set()).add(g)
    can = {(q, i, g) for q, g, i in zip(*(pooled[c].tolist() for c in key), strict=True)
           if (q, g) not in skip and (allowed is None or (q, g, i) in allowed)}
    whole = {parent for parent, members in needed.items()
             if all((*parent, g) in can for g in members)}
    pooled = pooled[[(q, i) in whole for q, i in
                     zip(pooled["quarter"].tolist(), pooled["indicator"].tolist(), strict=True)]]
    if pooled.empty:
        return out, []
    pooled = figures_from_stats(pooled)
    replace = out.merge(pooled[key], on=key, how="left", indicator="_p")["_p"].eq("both") \
        .to_numpy()
    merged = pooled.assign(status="ok", suppression=None, pooled=True,
                           note=POOLED_LABEL + " (" + pooled["pooled_quarters"] + ")")
    version = groups.set_index(["quarter", "group_id", "indicator"])["version"]
    records = []
    for row in merged.itertuples(index=False):
        first, second = row.pooled_quarters.split("+")
        records.append((publication, row.quarter, row.indicator, f"pooled:{row.group_id}",
                        "shown", [_term(q, row.group_id, version.get((q, row.group_id,
                                                                      row.indicator), 0))
                                  for q in (first, second)]))
    merged = merged.drop(columns=["pooled_quarters"])
    return pd.concat([out[~replace], merged], ignore_index=True), records


def inclusion_release(con: duckdb.DuckDBPyConnection, config: Config,
                      units: pd.DataFrame) -> pd.DataFrame:
    """Survey figures by group modality, language and time-zone band.

    A category pools the ledger statistics of its groups released for that indicator only
    (``units``: marts.survey_units), so it is a sum of figures already shown and no
    subtraction of two categories isolates a hidden group.
    """
    columns = ["quarter", "dimension", "category", "indicator", "value", "n", "ci_low",
               "ci_high", "status"]
    dims = con.execute("SELECT group_id, modality, language, tz_band FROM marts.groups").df()
    if units.empty:
        return pd.DataFrame(columns=columns)
    joined = units.merge(dims, on="group_id").melt(
        id_vars=["quarter", "group_id", "indicator", *STATS],
        value_vars=["modality", "language", "tz_band"], var_name="dimension",
        value_name="category")
    joined = joined[joined["category"].notna()]
    pooled = joined.groupby(["quarter", "dimension", "category", "indicator"],
                            as_index=False)[list(STATS)].sum()
    shown = suppress_small_cells(
        figures_from_stats(pooled), value_cols=("value", "ci_low", "ci_high"),
        parent_cols=("quarter", "dimension", "indicator"), k=config.min_responses,
    )
    return shown[columns]


def comments_release(con: duckdb.DuckDBPyConnection, config: Config, ledger: pd.DataFrame,
                     publication: int) -> tuple[pd.DataFrame, list]:
    """Comment lists of this publication: per group and program-wide, at k_comments.

    Units (groups and the no-known-group unit) are counted in responses from the ledger;
    primary and secondary suppression at k_comments within each quarter, so the program's list
    minus every shown group's list is the comments of units holding 0 or at least k_comments
    responses together.
    """
    k = config.min_comments
    responses = ledger[ledger["indicator"] == RESPONSES][["quarter", "unit", "n", "version"]]
    records: list = []
    if responses.empty:
        return pd.DataFrame(columns=["quarter", "group_id", "comment"]), records
    decided = suppress_small_cells(responses.assign(value=0.0), value_cols=("value",),
                                   parent_cols=("quarter",), unit_col="unit", k=k)
    totals = responses.groupby("quarter")["n"].sum()
    # (columns as Python lists: itertuples over Arrow-backed columns is slow)
    for quarter, unit, n, version, status in zip(
            *(responses[c].tolist() for c in ("quarter", "unit", "n", "version")),
            decided["status"].tolist(), strict=True):
        kind = "unknown" if unit == UNKNOWN_UNIT else "group"
        role = "shown" if status == "ok" and kind == "group" else (
            "allowed" if status == "ok" else "hidden")
        records.append((publication, quarter, COMMENTS, f"{kind}:{unit}", role,
                        [_term(quarter, unit, version)], n))
    for quarter, part in responses.groupby("quarter"):
        records.append((publication, quarter, COMMENTS, "program",
                        "shown" if totals[quarter] >= k else "hidden",
                        [_term(quarter, u, v) for u, v in zip(
                            part["unit"].tolist(), part["version"].tolist(), strict=True)],
                        np.inf))
    settled = settle_against_history(con, pd.DataFrame(records, columns=[*FIGURE_COLUMNS, "n"]))
    shown_figures = settled[settled["role"] == "shown"]
    shown_units = pd.DataFrame(
        [(q, f.removeprefix("group:")) for q, f in zip(
            shown_figures["quarter"].tolist(), shown_figures["figure"].tolist(), strict=True)
         if f.startswith("group:")], columns=["quarter", "unit"])
    program_quarters = set(shown_figures.loc[shown_figures["figure"] == "program", "quarter"])
    comments = con.execute("SELECT quarter, unit, comment FROM release.comment_ledger").df()
    group_rows = comments.merge(shown_units, on=["quarter", "unit"])
    group_rows = group_rows.rename(columns={"unit": "group_id"})[["quarter", "group_id",
                                                                  "comment"]]
    program_rows = comments[comments["quarter"].isin(program_quarters)] \
        .assign(group_id=None)[["quarter", "group_id", "comment"]]
    records = settled[list(FIGURE_COLUMNS)].values.tolist()
    out = pd.concat([program_rows, group_rows], ignore_index=True)
    return out.sort_values(["quarter", "group_id", "comment"], na_position="first",
                           ignore_index=True), records


def record_figures(con: duckdb.DuckDBPyConnection, figures: pd.DataFrame) -> None:
    """Add this publication's figures to release.figures (what the auditor checks).

    An earlier row saying exactly what a row of this publication says (same figure, role and
    entries) adds no equation: it is dropped, so the history grows only by what changed and
    the latest publication is complete.
    """
    if figures.empty:
        return
    con.register("_hearth_figures", figures)
    try:
        con.execute("INSERT INTO release.figures SELECT publication, quarter, indicator, figure, "
                    "role, terms FROM _hearth_figures")
        con.execute(
            """
            DELETE FROM release.figures f USING _hearth_figures n
            WHERE f.publication < n.publication AND f.quarter = n.quarter
              AND f.indicator = n.indicator AND f.figure = n.figure AND f.role = n.role
              AND f.terms = n.terms
            """
        )
    finally:
        con.unregister("_hearth_figures")


# --------------------------------------------------------------------------------------------
# selections (read time)


def selection_decisions(
    shown: pd.DataFrame, program_n: Mapping[tuple[str, str], int], selected: Sequence[Hashable],
    k: int,
) -> dict[tuple[str, str], SliceDecision]:
    """Per quarter x indicator, which selected groups a selection pools and whether it is shown.

    ``shown`` holds the released groups (quarter, group_id, indicator, n) - marts.survey_units;
    ``program_n`` the program's n per (quarter, indicator). A selection pools only the groups
    released *for that indicator* (a group shown for belonging may be hidden for peer support
    in the same quarter), and is shown only when it and what it leaves out each hold at least k
    responses, or nothing (anonymity.slice_of_shown_groups).
    """
    return breakdown_decisions(shown, program_n, {None: selected}, k)[None]


def breakdown_decisions(
    shown: pd.DataFrame, program_n: Mapping[tuple[str, str], int],
    selections: Mapping[Hashable, Sequence[Hashable]], k: int,
) -> dict[Hashable, dict[tuple[str, str], SliceDecision]]:
    """selection_decisions for many selections at once (a roll-up: the groups of each coach,
    modality, cohort ...): the released groups are indexed once, not once per selection."""
    by_key = {key: dict(zip(part["group_id"], part["n"].astype(int), strict=True))
              for key, part in shown.groupby(["quarter", "indicator"])}
    return {
        name: {key: slice_of_shown_groups(by_key.get(key, {}), selected, total_n=int(total), k=k)
               for key, total in program_n.items()}
        for name, selected in selections.items()
    }


def pooled_selection(units: pd.DataFrame, decisions: Mapping[tuple[str, str], SliceDecision]
                     ) -> pd.DataFrame:
    """The selection's figures: the pooled statistics of the groups each decision allows."""
    rows = []
    for (quarter, indicator), decision in decisions.items():
        if not decision.allowed:
            continue
        part = units[(units["quarter"] == quarter) & (units["indicator"] == indicator)
                     & units["group_id"].isin(decision.groups)]
        rows.append({"quarter": quarter, "indicator": indicator,
                     **{c: float(part[c].sum()) for c in STATS}})
    frame = pd.DataFrame(rows, columns=["quarter", "indicator", *STATS])
    if frame.empty:
        return frame.assign(value=[], ci_low=[], ci_high=[])
    frame["n"] = frame["n"].astype("int64")
    return figures_from_stats(frame)


def selection_release(
    con: duckdb.DuckDBPyConnection, quarters: Sequence[str], selected: Sequence[Hashable],
    k: int, program: str = "marts.indicators",
) -> dict[tuple[str, str], tuple[SliceDecision, dict[str, float] | None]]:
    """selection_decisions and pooled_selection for one selection, read set-based from a
    snapshot: per quarter x survey indicator, the decision and (when allowed) the pooled
    figure (n, value, ci_low, ci_high).

    The rule is the same (anonymity.slice_of_shown_groups over the groups released for that
    indicator, marts.survey_units); only the reading differs. DuckDB restricts the released
    groups to the selected ones and sums their statistics in one query, so a page never loads
    every group's released statistics into a frame (250,000 rows at 10,000 groups) to pool a
    few hundred. ``selected`` names groups of marts.groups (others are not counted).
    ``program`` is the table the program's n are read from: a snapshot's pages.program holds
    marts.indicators' program rows (finding them among a million rows cost a page ~15 ms).
    """
    wanted = list(dict.fromkeys(quarters))
    chosen = list(dict.fromkeys(selected))
    program_n = {
        (q, i): int(n) for q, i, n in con.execute(
            # (list_contains, not IN (SELECT unnest(...)): a filter DuckDB pushes into the
            # scan, which then skips the row groups holding no program row)
            f"SELECT quarter, indicator, n FROM {program} WHERE group_id IS NULL "
            "AND n IS NOT NULL AND list_contains(?::VARCHAR[], indicator) "
            "AND list_contains(?::VARCHAR[], quarter)", [list(SURVEY_KEYS), wanted],
        ).fetchall()
    }
    found = {
        (q, i): (dict(zip(groups, ns, strict=True)), stats) for q, i, groups, ns, *stats in
        con.execute(
            # fsum (compensated): the same figure whatever order DuckDB's threads add in
            "SELECT quarter, indicator, list(group_id), list(n), sum(n)::DOUBLE, "
            "fsum(sum_score), fsum(sum_sq), fsum(hits) FROM marts.survey_units "
            "WHERE quarter IN (SELECT unnest(?::VARCHAR[])) "
            "AND group_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY quarter, indicator",
            [wanted, [str(g) for g in chosen]],
        ).fetchall()
    }
    decisions = {key: slice_of_shown_groups(found.get(key, ({}, None))[0], chosen,
                                            total_n=total, k=k)
                 for key, total in program_n.items()}
    allowed = [(key, found[key][1]) for key, d in decisions.items() if d.allowed]
    pooled: dict[tuple[str, str], dict[str, float]] = {}
    if allowed:
        frame = figures_from_stats(pd.DataFrame(
            [(q, i, *stats) for (q, i), stats in allowed],
            columns=["quarter", "indicator", *STATS]).astype({"n": "int64"}))
        pooled = {(q, i): {"n": n, "value": v, "ci_low": lo, "ci_high": hi}
                  for q, i, n, v, lo, hi in frame[["quarter", "indicator", "n", "value",
                                                    "ci_low", "ci_high"]].itertuples(index=False)}
    return {key: (d, pooled.get(key)) for key, d in decisions.items()}


__all__ = [
    "COMMENTS", "RESPONSES", "SURVEY_MEANS", "UNKNOWN_UNIT",
    "advance_ledger", "advance_publication", "breakdown_decisions", "comments_release", "figures_from_stats",
    "inclusion_release", "pooled_selection", "record_figures",
    "selection_decisions", "selection_release", "survey_release",
]
