"""Survey indicators, reliability, comments and the retention curve.

Scoring itself is SQL (metrics/sql/10_survey_scores.sql: reverse keying from the instrument,
the half-the-items rule, 0-100 indices, loneliness totals). This module adds intervals and sends
every survey figure through the one anonymity rule (metrics.anonymity):

- belonging, psychological safety, peer support: mean index with a t interval
  (statistics.mean_intervals);
- loneliness_share (total >= definitions.LONELY_TOTAL of 3-9) and willingness_to_lead
  (>= definitions.WILLING_SCORE on 1-5): Wilson intervals;
- which figures are shown (the anonymity rule, per unit, indicator and quarter, and over
  publications) is metrics.release's decision;
- reliability: Cronbach's alpha with Feldt interval per construct per quarter, pairwise and
  listwise (statistics.cronbach_alpha_matrix); warning below 0.7.
"""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd

from hearth.quoting import sql_literal
from metrics.definitions import ALPHA_WARNING, SURVEY_MEANS
from metrics.statistics import (
    cronbach_alpha_matrix,
    kaplan_meier,
    mean_intervals,
    wilson_intervals,
)


def figures_of(units: pd.DataFrame) -> pd.DataFrame:
    """value and 95% interval from n, mean, sd (means) or hits (shares)."""
    out = units.copy()
    n = out["n"].fillna(0).to_numpy(float)
    is_mean = out["indicator"].isin(SURVEY_MEANS).to_numpy()
    mean_low, mean_high = mean_intervals(out["mean"].to_numpy(float), out["sd"].to_numpy(float), n)
    hits = out["hits"].fillna(0).to_numpy(float)
    share, share_low, share_high = wilson_intervals(hits, n)
    out["value"] = np.where(is_mean, out["mean"].to_numpy(float), share)
    out["ci_low"] = np.where(is_mean, mean_low, share_low)
    out["ci_high"] = np.where(is_mean, mean_high, share_high)
    return out


def reliability_table(con: duckdb.DuckDBPyConnection, k: int) -> pd.DataFrame:
    """Cronbach's alpha (Feldt 95% interval) per quarter x multi-item construct x policy.

    Computed from the item answers as last published (release.item_ledger: those of the
    responses each ledger entry of the construct counts, moved with the entry only by whole
    steps of at least k), so a late response held back by the ledger changes neither alpha nor
    its n, and both are statistics of the entries the program's figure sums. A row with fewer than ``k`` responses carries
    no alpha, interval or n: its n is a count of survey responses like any other, and when the
    quarter's program figures are hidden it would give their count (and alpha, the agreement
    of those few people's answers). Nor does a row show while the program's own figure of that
    construct is hidden that quarter (marts.indicators): its n would count what is hidden.
    Which rows there are never depends on the answers either: one per quarter and construct
    whose program figure marts.indicators lists (shown or hidden), answered or not; a row for
    each quarter and construct anyone answered said that someone had (one response dated
    after the last session loaded gave its quarter and the constructs it answered).
    """
    program = con.execute(
        "SELECT quarter, CASE indicator WHEN 'loneliness_share' THEN 'loneliness' "
        "ELSE indicator END, status = 'ok' FROM marts.indicators WHERE group_id IS NULL "
        "AND quarter >= (SELECT since FROM stage_scope)").fetchall()
    shown = {(q, c) for q, c, ok in program if ok}
    listed = {(q, c) for q, c, _ in program}
    rows = []
    constructs = con.execute(
        "SELECT construct, list(item_id ORDER BY position) FROM stage_instrument "
        "GROUP BY construct HAVING count(*) >= 2 ORDER BY construct"
    ).fetchall()
    for construct, items in constructs:
        wide = con.execute(
            f"""
            PIVOT (
                SELECT quarter, response_id, item_id, keyed::DOUBLE AS keyed
                FROM release.item_ledger
                WHERE construct = ? AND quarter >= (SELECT since FROM stage_scope)
            ) ON item_id IN ({", ".join(sql_literal(i) for i in items)})
            USING first(keyed) GROUP BY quarter, response_id
            """,
            [construct],
        ).df()
        # responses in a fixed order: the sums behind alpha then do not depend on how DuckDB's
        # threads happened to pivot (or on which quarters this refresh rebuilds)
        wide = wide.sort_values(["quarter", "response_id"], ignore_index=True)
        # the answers as one float matrix, cut by quarter (not a frame per quarter)
        answers = wide[[c for c in items if c in wide.columns]].to_numpy(dtype=float,
                                                                          na_value=np.nan)
        in_quarter = wide.groupby("quarter", sort=True).indices
        for quarter in sorted(q for q, c in listed if c == construct):
            for policy in ("pairwise", "listwise"):
                result = None
                if (quarter, construct) in shown and quarter in in_quarter:
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        # too few answers give NaN alpha, which is reported as such
                        warnings.simplefilter("ignore", RuntimeWarning)
                        result = cronbach_alpha_matrix(answers[in_quarter[quarter]],
                                                       policy=policy)
                if result is None or result.n < k:
                    rows.append({"quarter": quarter, "construct": construct, "policy": policy,
                                 "alpha": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                                 "n": None, "n_items": len(items), "warning": False})
                    continue
                rows.append({
                    "quarter": quarter, "construct": construct, "policy": policy,
                    "alpha": result.alpha, "ci_low": result.ci_low, "ci_high": result.ci_high,
                    "n": result.n, "n_items": result.n_items,
                    "warning": bool(np.isfinite(result.alpha) and result.alpha < ALPHA_WARNING),
                })
    return pd.DataFrame(rows, columns=["quarter", "construct", "policy", "alpha", "ci_low",
                                       "ci_high", "n", "n_items", "warning"])


def retention_curve(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Program-wide Kaplan-Meier survival of memberships by days since joining."""
    followed = con.execute(
        """
        SELECT coalesce(churned_on, (SELECT data_end FROM stage_calendar)) - joined_on AS days,
               churned_on IS NOT NULL AS churned, count(*) AS members
        FROM stage_memberships GROUP BY ALL HAVING days >= 0
        """
    ).df()
    durations = np.repeat(followed["days"].to_numpy(float), followed["members"].to_numpy())
    events = np.repeat(followed["churned"].to_numpy(bool), followed["members"].to_numpy())
    curve = kaplan_meier(durations, events)
    return pd.DataFrame({
        "days": curve["time"].astype("int64"), "at_risk": curve["at_risk"],
        "events": curve["events"], "survival": curve["survival"],
        "ci_low": curve["ci_low"], "ci_high": curve["ci_high"],
    })
