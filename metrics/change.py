"""Change between quarters, and fair comparison between groups.

add_changes: every indicator against the previous quarter, with the test that suits it:
- survey indices (belonging, psychological safety, peer support): Mann-Whitney U on the two
  quarters' scores as last published (release.score_ledger) as independent samples (answers
  are anonymous), exact
  permutation distribution with ties for small n (statistics.mann_whitney);
- shares (attendance rate, newcomer return, buddy coverage, hosting breadth, top host's share,
  lonely share, willing to lead) and retention (retained out of followed): the two-proportion
  test of statistics.two_proportions (pooled z; Fisher's exact test when an expected count is
  under 5);
- counts (active members, sessions held, distinct hosts, new hosts): the conditional test for
  two Poisson counts (given the total, the later count is Binomial(total, 1/2) under no change);
- host concentration (HHI) is descriptive: its change has no test ("can't tell yet").
p-values are adjusted with Benjamini-Hochberg across the groups of one quarter and indicator
(the program-wide row is a single test and is not adjusted). The verdict is "up"/"down" when
the adjusted p < 0.05 and the change is at least the indicator's practical minimum
(definitions.Indicator.min_change: 2 points for shares, 3 index points, 5% of a count),
"no meaningful change" when it is clear but smaller, "no clear change" when the test cannot
tell the quarters apart, and "can't tell yet" when either quarter is missing, suppressed,
pooled or too thin.

funnel_points: Spiegelhalter funnel limits (95% and 99.8%) around the groups' overall value;
proportions widened for over-dispersion (statistics.overdispersion_phi), means ybar +- z s/sqrt(n).

shrunken_estimates: empirical-Bayes estimates with intervals and a rank (1 = best), the fair
way to order groups of very different sizes.
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd

from hearth.calendar import shift_quarter
from metrics.definitions import BY_KEY, SURVEY_MEANS, indicator_facts
from metrics.statistics import (
    Z95,
    Z998,
    benjamini_hochberg,
    change_verdicts,
    funnel_limits_mean,
    funnel_limits_proportion,
    mann_whitney_pvalues,
    overdispersion_phi,
    poisson_count_pvalues,
    shrunken_means,
    shrunken_proportions,
    two_proportion_pvalues,
)

KEYS = ["quarter", "group_id", "indicator"]


def _survey_mean_pvalues(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> pd.Series:
    """Mann-Whitney p per row of `pairs` (quarter, prev_quarter, group_id, indicator)."""
    if pairs.empty:
        return pd.Series(dtype=float)
    wanted = pd.concat([
        pairs[["quarter", "group_id", "indicator"]],
        pairs[["prev_quarter", "group_id", "indicator"]].rename(columns={"prev_quarter": "quarter"}),
    ]).drop_duplicates()
    con.register("_wanted_scores", wanted)
    try:
        # the scores as last published (release.score_ledger), never the answers now: a late
        # response the ledger holds back must not move a p-value either
        scores = con.execute(
            """
            SELECT s.quarter, s.unit AS group_id, s.indicator, list(s.score) AS scores
            FROM release.score_ledger s
            JOIN _wanted_scores w
              ON w.quarter = s.quarter AND w.indicator = s.indicator AND w.group_id = s.unit
            GROUP BY ALL
            """
        ).df()
        # the program's samples of the quarters tested only (an incremental refresh tests the
        # quarters it rebuilds, not every quarter in the ledger)
        program = con.execute(
            "SELECT quarter, indicator, list(score) AS scores FROM release.score_ledger s "
            "SEMI JOIN (SELECT * FROM _wanted_scores WHERE group_id IS NULL) w "
            "USING (quarter, indicator) GROUP BY ALL"
        ).df() if pairs["group_id"].isna().any() else pd.DataFrame()
    finally:
        con.unregister("_wanted_scores")
    # (columns as Python lists: itertuples over Arrow-backed columns is slow)
    lookup = {(q, g, i): sample for q, g, i, sample in zip(
        *(scores[c].tolist() for c in ("quarter", "group_id", "indicator", "scores")),
        strict=True)}
    if len(program):
        for q, i, sample in zip(*(program[c].tolist() for c in ("quarter", "indicator",
                                                                 "scores")), strict=True):
            lookup[(q, None, i)] = sample
    out = np.full(len(pairs), np.nan)
    tested, samples = [], []
    for i, (quarter, prev_quarter, group, indicator) in enumerate(zip(
            *(pairs[c].tolist() for c in ("quarter", "prev_quarter", "group_id", "indicator")),
            strict=True)):
        group = None if pd.isna(group) else group
        before = lookup.get((prev_quarter, group, indicator))
        after = lookup.get((quarter, group, indicator))
        if before is not None and after is not None:
            tested.append(i)
            samples.append((np.asarray(before), np.asarray(after)))
    if tested:
        out[tested] = mann_whitney_pvalues(samples)  # = mann_whitney(before, after)[1] each
    return pd.Series(out, index=pairs.index, dtype=float)


PREVIOUS = {"value": "prev_value", "hits": "prev_hits", "n": "prev_n", "status": "prev_status",
            "pooled": "prev_pooled"}


def previous_positions(quarter: pd.Series, keys: list[pd.Series], steps: int = 1) -> np.ndarray | None:
    """For each row, the position of the row with the same `keys` `steps` quarters earlier
    (-1 where there is none); None when (quarter, keys) do not identify rows uniquely or a
    quarter is missing. Missing key values (a program-wide row's group) match each other, as
    in a pandas merge. Works on integer codes of the keys, not on the strings."""
    quarter_codes, quarters = pd.factorize(quarter)
    if (quarter_codes < 0).any():
        return None
    earlier = pd.Index(quarters).get_indexer([shift_quarter(q, -steps) for q in quarters])
    key = np.zeros(len(quarter), dtype=np.int64)
    for column in keys:
        codes, uniques = pd.factorize(column)  # -1: missing
        key = key * (len(uniques) + 1) + codes + 1
    width = int(key.max()) + 1 if len(key) else 1
    rows = pd.Index(quarter_codes * width + key)
    if not rows.is_unique:
        return None
    earlier_codes = earlier[quarter_codes]
    return rows.get_indexer(np.where(earlier_codes >= 0, earlier_codes * width + key, -1))


def _previous(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """(rows, previous): for each row, the previous quarter's value, hits and n of the same
    group x indicator (NaN where there is none) and whether that row was ok and pooled (False
    where there is none), as arrays keyed "value", "hits", "n", "ok", "pooled".

    The left join on (prev_quarter, group_id, indicator), done by position
    (previous_positions); `rows` is `frame` itself. Should the keys ever repeat, it is the
    join's result, which repeats rows as a merge does.
    """
    position = previous_positions(frame["quarter"], [frame["group_id"], frame["indicator"]])
    if position is None:  # not expected (keys missing or repeated)
        keyed = frame.assign(prev_quarter=frame["quarter"].map(
            {q: shift_quarter(q, -1) for q in frame["quarter"].unique()}))
        prev = frame[KEYS + list(PREVIOUS)].rename(columns={"quarter": "prev_quarter", **PREVIOUS})
        rows = keyed.merge(prev, on=["prev_quarter", "group_id", "indicator"], how="left")
        return rows.drop(columns=["prev_quarter", *PREVIOUS.values()]), {
            "value": rows["prev_value"].to_numpy(dtype=float, na_value=np.nan),
            "hits": rows["prev_hits"].to_numpy(dtype=float, na_value=np.nan),
            "n": rows["prev_n"].to_numpy(dtype=float, na_value=np.nan),
            "ok": _is_ok(rows["prev_status"]),
            "pooled": _flags(rows["prev_pooled"]),
        }
    found = position >= 0
    take = np.where(found, position, 0)
    previous = {}
    for column in ("value", "hits", "n"):
        previous[column] = np.where(
            found, frame[column].to_numpy(dtype=float, na_value=np.nan)[take], np.nan)
    previous["ok"] = found & _is_ok(frame["status"])[take]
    previous["pooled"] = found & _flags(frame["pooled"])[take]
    return frame, previous


def _flags(column: pd.Series) -> np.ndarray:
    """A column of True/False/missing as booleans, missing = False (fillna(False))."""
    return column.fillna(False).astype(bool).to_numpy()


def _is_ok(status: pd.Series) -> np.ndarray:
    """status == "ok" as booleans (a missing status is not ok)."""
    return (status == "ok").fillna(False).to_numpy(dtype=bool)


def add_changes(con: duckdb.DuckDBPyConnection, indicators: pd.DataFrame,
                context_before: str | None = None) -> pd.DataFrame:
    """Add delta, p_value, p_adjusted, verdict and test to every indicator row.

    `context_before`: rows of quarters before it are there only as the previous quarter of
    later rows (an incremental refresh's kept rows); their own change is not tested.
    """
    if indicators.empty:
        frame = indicators.copy(deep=False)  # copy-on-write: the caller's frame is untouched
        for column in ("delta", "p_value", "p_adjusted"):
            frame[column] = pd.Series(dtype=float)
        frame["verdict"] = frame["test"] = pd.Series(dtype=object)
        return frame
    rows, prev = _previous(indicators)
    frame = rows.copy(deep=False)  # copy-on-write: the caller's frame is untouched
    kind = indicator_facts(frame["indicator"], "kind")
    both_ok = _is_ok(frame["status"]) & prev["ok"] & ~_flags(frame["pooled"]) & ~prev["pooled"]
    if context_before:
        # each quarter's tests are a family of their own, so leaving the context rows untested
        # changes nothing for the later ones (and saves their Mann-Whitney tests)
        both_ok &= (frame["quarter"] >= context_before).to_numpy(dtype=bool)
    value = frame["value"].to_numpy(dtype=float, na_value=np.nan)
    hits = frame["hits"].to_numpy(dtype=float, na_value=np.nan)
    n = frame["n"].to_numpy(dtype=float, na_value=np.nan)
    delta = np.where(both_ok, value - prev["value"], np.nan)

    p = np.full(len(frame), np.nan)
    test = np.full(len(frame), None, dtype=object)
    shares = both_ok & (kind == "proportion").fillna(False).to_numpy(dtype=bool)
    p[shares] = two_proportion_pvalues(prev["hits"][shares], prev["n"][shares], hits[shares],
                                       n[shares])
    test[shares] = "two proportions"
    surv = both_ok & (kind == "survival").fillna(False).to_numpy(dtype=bool)
    p[surv] = two_proportion_pvalues(prev["hits"][surv], prev["n"][surv], hits[surv], n[surv])
    test[surv] = "two proportions (retained of followed)"
    counts = both_ok & (kind == "count").fillna(False).to_numpy(dtype=bool)
    p[counts] = poisson_count_pvalues(prev["value"][counts], value[counts])
    test[counts] = "Poisson counts"
    means = both_ok & frame["indicator"].isin(SURVEY_MEANS).to_numpy(dtype=bool)
    if means.any():
        pairs = frame.loc[means, ["quarter", "group_id", "indicator"]]
        pairs["prev_quarter"] = pairs["quarter"].map(
            {q: shift_quarter(q, -1) for q in pairs["quarter"].unique()})
        p[means] = _survey_mean_pvalues(con, pairs).to_numpy()
        test[means] = "Mann-Whitney U"
    frame["delta"] = delta
    frame["p_value"] = p
    frame["test"] = test

    adjusted = np.full(len(frame), np.nan)
    is_group = frame["group_id"].notna().to_numpy()
    adjusted[~is_group] = p[~is_group]
    # one family per quarter x indicator: positions of its group rows, in row order
    group_rows = np.flatnonzero(is_group)
    quarter_codes, _ = pd.factorize(frame["quarter"])
    indicator_codes, names = pd.factorize(frame["indicator"])
    family = (quarter_codes.astype(np.int64) * (len(names) + 1) + indicator_codes)[group_rows]
    order = np.argsort(family, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(family[order]) != 0]) if len(order) else []
    for family_rows in np.split(group_rows[order], starts[1:]) if len(order) else []:
        adjusted[family_rows] = benjamini_hochberg(p[family_rows])
    frame["p_adjusted"] = adjusted
    frame["verdict"] = change_verdicts(delta, adjusted, both_ok,
                                       min_change=practical_minimum(frame["indicator"], prev))
    return frame


def practical_minimum(indicator: pd.Series, prev: dict[str, np.ndarray]) -> np.ndarray:
    """The smallest |delta| worth an "up"/"down" per row (definitions.Indicator.min_change):
    in the indicator's units for shares and indices; for counts that share of last quarter's
    count, and at least 1."""
    minimum = indicator_facts(indicator, "min_change").to_numpy(dtype=float, na_value=np.nan)
    counts = (indicator_facts(indicator, "kind") == "count").fillna(False).to_numpy(dtype=bool)
    relative = np.maximum(1.0, minimum * np.abs(np.nan_to_num(prev["value"], nan=0.0)))
    return np.where(counts, relative, minimum)


FUNNEL_INDICATORS = (
    "attendance_rate", "newcomer_return", "buddy_coverage", "hosting_breadth", "top_host_share",
    "loneliness_share", "willingness_to_lead", "belonging", "psychological_safety",
    "peer_support",
)


def _outside(value, lo95, hi95, lo998, hi998) -> np.ndarray:
    v = np.asarray(value, dtype=float)
    return np.select(
        [v < lo998, v < lo95, v > hi998, v > hi95],
        ["below 99.8%", "below 95%", "above 99.8%", "above 95%"],
        default="within",
    )


class _Compared(NamedTuple):
    """The columns funnel points and shrunken estimates read, as arrays."""

    n: np.ndarray           # as stored
    nf: np.ndarray          # as floats
    value: np.ndarray
    hits: np.ndarray
    sd: np.ndarray | None   # (no sd column: None)
    group_id: np.ndarray


def _comparable_units(indicators: pd.DataFrame) -> tuple[_Compared | None, list]:
    """The group rows funnel points and shrunken estimates compare (shown, not pooled, of a
    comparable indicator), and each (quarter, indicator) unit among them as (quarter,
    indicator, positions in those rows), in the order ``groupby(sort=True)`` gives: the
    columns are read once and cut by position, instead of a frame per unit."""
    rows = indicators[
        indicators["group_id"].notna() & (indicators["status"] == "ok")
        & indicators["indicator"].isin(FUNNEL_INDICATORS) & ~indicators["pooled"].astype(bool)
    ]
    if rows.empty:
        return None, []
    found = rows.groupby(["quarter", "indicator"], sort=True).indices
    columns = _Compared(
        n=rows["n"].to_numpy(), nf=rows["n"].to_numpy(float),
        value=rows["value"].to_numpy(float), hits=rows["hits"].to_numpy(float),
        sd=rows["sd"].to_numpy(float) if "sd" in rows.columns else None,
        group_id=rows["group_id"].to_numpy(),
    )
    return columns, [(quarter, key, found[quarter, key]) for quarter, key in sorted(found)]


def _unit_frame(columns: dict[str, list]) -> pd.DataFrame:
    """One frame from each column's per-unit pieces (arrays, or scalars repeated over the
    unit's rows: see _repeat)."""
    return pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})


def _repeat(value, size: int) -> np.ndarray:
    return np.full(size, value, dtype=object if isinstance(value, str) else float)


FUNNEL_COLUMNS = ["quarter", "indicator", "group_id", "value", "n", "target", "lo95", "hi95",
                  "lo998", "hi998", "outside", "phi"]


def funnel_points(indicators: pd.DataFrame) -> pd.DataFrame:
    """One point per group x quarter x comparable indicator, with its funnel limits."""
    compared, units = _comparable_units(indicators)
    if not units:
        return pd.DataFrame(columns=FUNNEL_COLUMNS)
    columns: dict[str, list] = {name: [] for name in FUNNEL_COLUMNS}
    for quarter, key, at in units:
        n = compared.nf[at]
        if BY_KEY[key].kind == "proportion":
            hits = compared.hits[at]
            target = hits.sum() / n.sum() if n.sum() else np.nan
            if not 0 < target < 1:
                continue  # every group at 0% or 100%: nothing to compare
            phi = overdispersion_phi(hits, n, target)
            lo95, hi95 = funnel_limits_proportion(target, n, Z95, phi)
            lo998, hi998 = funnel_limits_proportion(target, n, Z998, phi)
        else:
            sd = compared.sd[at]
            target = float((compared.value[at] * n).sum() / n.sum())
            dof = np.clip(n - 1, 0, None)
            pooled_var = np.nansum(dof * sd**2) / dof.sum() if dof.sum() else np.nan
            if not np.isfinite(pooled_var):
                continue
            phi = np.nan
            lo95, hi95 = funnel_limits_mean(target, float(np.sqrt(pooled_var)), n, Z95)
            lo998, hi998 = funnel_limits_mean(target, float(np.sqrt(pooled_var)), n, Z998)
        value = compared.value[at]
        size = len(at)
        for name, part in (
            ("quarter", _repeat(quarter, size)), ("indicator", _repeat(key, size)),
            ("group_id", compared.group_id[at]), ("value", value), ("n", compared.n[at]),
            ("target", _repeat(target, size)), ("lo95", lo95), ("hi95", hi95),
            ("lo998", lo998), ("hi998", hi998),
            ("outside", _outside(value, lo95, hi95, lo998, hi998).astype(object)),
            ("phi", _repeat(phi, size)),
        ):
            columns[name].append(part)
    if not columns["quarter"]:
        return pd.DataFrame(columns=FUNNEL_COLUMNS)
    return _unit_frame(columns)


SHRUNKEN_COLUMNS = ["quarter", "indicator", "group_id", "raw_value", "n", "estimate", "ci_low",
                    "ci_high", "rank"]


def _rank_min(values: np.ndarray, ascending: bool) -> np.ndarray:
    """``Series.rank(method="min", ascending=ascending)`` of a float array: ties (equal
    values) share the lowest rank, NaN stays NaN."""
    ranks = np.full(values.shape, np.nan)
    known = np.flatnonzero(~np.isnan(values))
    if known.size:
        ordered = values[known] if ascending else -values[known]
        order = np.argsort(ordered, kind="stable")
        ranked = ordered[order]
        # the position (from 1) of each value's first equal in sorted order
        starts = np.r_[True, ranked[1:] != ranked[:-1]]
        ranks[known[order]] = np.maximum.accumulate(
            np.where(starts, np.arange(1, known.size + 1), 0))
    return ranks


def shrunken_estimates(indicators: pd.DataFrame) -> pd.DataFrame:
    """Empirical-Bayes estimates per group x quarter x comparable indicator, ranked (1 = best)."""
    compared, units = _comparable_units(indicators)
    if not units:
        return pd.DataFrame(columns=SHRUNKEN_COLUMNS)
    columns: dict[str, list] = {name: [] for name in SHRUNKEN_COLUMNS}
    for quarter, key, at in units:
        if BY_KEY[key].kind == "proportion":
            estimate, low, high = shrunken_proportions(compared.hits[at], compared.nf[at])
        else:
            se = compared.sd[at] / np.sqrt(compared.nf[at])
            estimate, low, high = shrunken_means(compared.value[at], se)
        size = len(at)
        for name, part in (
            ("quarter", _repeat(quarter, size)), ("indicator", _repeat(key, size)),
            ("group_id", compared.group_id[at]), ("raw_value", compared.value[at]), ("n", compared.n[at]),
            ("estimate", estimate), ("ci_low", low), ("ci_high", high),
            ("rank", _rank_min(estimate, ascending=not BY_KEY[key].higher_is_better)),
        ):
            columns[name].append(part)
    out = _unit_frame(columns)
    out["rank"] = out["rank"].astype("Int64")
    return out


#: change_between's `test` where a survey index's test cannot run on this connection: a
#: snapshot holds the released figures, not the answers (metrics.followup reads the test the
#: refresh published instead).
NOT_TESTED_HERE = "not tested here: the survey answers stay in the warehouse"
MANN_WHITNEY = "Mann-Whitney U"


def has_survey_scores(con: duckdb.DuckDBPyConnection) -> bool:
    """Does this connection hold the answers' scores (the warehouse), or only released figures
    (an audience's published snapshot)?"""
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'marts' AND table_name = 'survey_scores'").fetchall()[0][0])


def change_between(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> pd.DataFrame:
    """The change of an indicator between any two quarters of one unit, with the same tests
    add_changes runs between neighbouring quarters (the follow-up of an action compares the
    quarter it was decided in with each later one).

    ``pairs`` has columns group_id (missing: the program), indicator, before_quarter and
    after_quarter. Returned: those columns plus before_value, after_value, delta, before_n,
    after_n (the shown figures' responses), p_value, test and both_ok (both figures shown: ok and not pooled; survey figures never compared
    otherwise). p is not adjusted: the caller decides the family it controls.
    """
    out = pairs[["group_id", "indicator", "before_quarter", "after_quarter"]].reset_index(drop=True)
    wanted = pd.concat([
        out[["before_quarter", "group_id", "indicator"]].set_axis(
            ["quarter", "group_id", "indicator"], axis=1),
        out[["after_quarter", "group_id", "indicator"]].set_axis(
            ["quarter", "group_id", "indicator"], axis=1),
    ]).drop_duplicates()
    con.register("_wanted_rows", wanted)
    try:
        rows = con.execute(
            "SELECT i.quarter, i.group_id, i.indicator, i.value, i.hits, i.n, i.status, i.pooled "
            "FROM marts.indicators i JOIN _wanted_rows w ON w.quarter = i.quarter "
            "AND w.indicator = i.indicator AND w.group_id IS NOT DISTINCT FROM i.group_id"
        ).df()
    finally:
        con.unregister("_wanted_rows")
    lookup = {(r.quarter, None if pd.isna(r.group_id) else r.group_id, r.indicator): r
              for r in rows.itertuples()}

    def side(column: str, field: str) -> np.ndarray:
        values = []
        for r in out.itertuples():
            group = None if pd.isna(r.group_id) else r.group_id
            found = lookup.get((getattr(r, column), group, r.indicator))
            value = None if found is None else getattr(found, field)
            values.append(np.nan if value is None or value is pd.NA else value)
        return np.array(values, dtype=object)

    def ok(column: str) -> np.ndarray:
        return (side(column, "status") == "ok") & ~pd.Series(side(column, "pooled")).fillna(
            False).astype(bool).to_numpy()

    before_ok, after_ok = ok("before_quarter"), ok("after_quarter")
    both_ok = before_ok & after_ok
    before = {f: pd.to_numeric(side("before_quarter", f)).astype(float)
              for f in ("value", "hits", "n")}
    after = {f: pd.to_numeric(side("after_quarter", f)).astype(float)
             for f in ("value", "hits", "n")}
    kind = indicator_facts(out["indicator"], "kind").to_numpy(dtype=object)
    p = np.full(len(out), np.nan)
    test = np.full(len(out), None, dtype=object)
    shares = both_ok & np.isin(kind, ["proportion", "survival"])
    p[shares] = two_proportion_pvalues(before["hits"][shares], before["n"][shares],
                                       after["hits"][shares], after["n"][shares])
    test[shares] = "two proportions"
    counts = both_ok & (kind == "count")
    p[counts] = poisson_count_pvalues(before["value"][counts], after["value"][counts])
    test[counts] = "Poisson counts"
    means = both_ok & out["indicator"].isin(SURVEY_MEANS).to_numpy(dtype=bool)
    # A published snapshot holds released figures, never the answers behind them: there the
    # Mann-Whitney test cannot run (p stays missing, test says why); the warehouse runs it.
    if means.any() and not has_survey_scores(con):
        test[means] = NOT_TESTED_HERE
        means = np.zeros_like(means)
    if means.any():
        survey = out.loc[means, ["after_quarter", "before_quarter", "group_id", "indicator"]]
        survey = survey.rename(columns={"after_quarter": "quarter",
                                        "before_quarter": "prev_quarter"})
        p[means] = _survey_mean_pvalues(con, survey).to_numpy()
        test[means] = MANN_WHITNEY
    out["before_value"] = np.where(before_ok, before["value"], np.nan)
    out["after_value"] = np.where(after_ok, after["value"], np.nan)
    out["delta"] = np.where(both_ok, after["value"] - before["value"], np.nan)
    out["before_n"] = np.where(before_ok, before["n"], np.nan)
    out["after_n"] = np.where(after_ok, after["n"], np.nan)
    out["p_value"] = p
    out["test"] = test
    out["both_ok"] = both_ok
    return out
