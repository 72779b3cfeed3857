"""Survey indicators, reliability, comments and the retention curve.

Scoring itself is SQL (metrics/sql/10_survey_scores.sql: reverse keying from the instrument,
the half-the-items rule, 0-100 indices, loneliness totals). This module adds intervals and sends
every survey figure through the one anonymity rule (metrics.anonymity):

- belonging, psychological safety, peer support: mean index with a t interval
  (statistics.mean_intervals);
- loneliness_share (total >= definitions.LONELY_TOTAL of 3-9) and willingness_to_lead
  (>= definitions.WILLING_SCORE on 1-5): Wilson intervals;
- a group with fewer than k responses in a quarter is suppressed, with secondary suppression
  within each quarter x indicator so no hidden group can be recovered from the program total;
  with `pool_quarters` on, a small group's fixed pair of quarters (Q1+Q2, Q3+Q4) is shown
  pooled, labelled so;
- reliability: Cronbach's alpha with Feldt interval per construct per quarter, pairwise and
  listwise (statistics.cronbach_alpha); warning below 0.7.
"""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd

from hearth.config import Config
from hearth.quoting import sql_literal
from metrics.anonymity import (
    POOLED_LABEL,
    comments_visible,
    pool_quarters,
    suppress_small_cells,
    suppression_label,
)
from metrics.definitions import SURVEY_KEYS, SURVEY_MEANS
from metrics.frames import query_frame
from metrics.statistics import cronbach_alpha, kaplan_meier, mean_intervals, wilson_intervals

ALPHA_WARNING = 0.7


def _figures(units: pd.DataFrame) -> pd.DataFrame:
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


def _labels(suppression: pd.Series, k: int) -> list:
    """suppression_label of every row, worked out once per distinct reason."""
    codes, reasons = pd.factorize(suppression)
    labels = [suppression_label(r, k) for r in reasons] + [suppression_label(None, k)]
    return [labels[c] for c in codes]


def survey_indicators(con: duckdb.DuckDBPyConnection, config: Config) -> pd.DataFrame:
    """Survey indicators per group x quarter and program-wide, after the anonymity rule."""
    k = config.min_responses
    units = query_frame(
        con,
        """
        WITH unit_keys AS (
            SELECT quarter, group_id FROM stage_group_quarters
            UNION SELECT quarter, group_id FROM stage_survey_units WHERE group_id IS NOT NULL
            UNION SELECT quarter, NULL FROM stage_survey_units
            UNION SELECT quarter, NULL FROM stage_group_quarters
        )
        SELECT u.quarter, u.group_id, i.indicator, coalesce(s.n, 0) AS n, s.mean, s.sd,
               s.hits, s.sum_score, s.sum_sq
        FROM unit_keys u
        CROSS JOIN (SELECT unnest(?::VARCHAR[]) AS indicator) i
        LEFT JOIN stage_survey_units s
          ON s.quarter = u.quarter AND s.indicator = i.indicator
         AND s.group_id IS NOT DISTINCT FROM u.group_id
        ORDER BY u.quarter, u.group_id NULLS FIRST, i.indicator
        """,
        [list(SURVEY_KEYS)],
    )
    figures = _figures(units)
    shown = suppress_small_cells(
        figures, value_cols=("value", "ci_low", "ci_high", "mean", "sd", "hits"),
        parent_cols=("quarter", "indicator"), unit_col="group_id", k=k,
    )
    shown["pooled"] = False
    shown["note"] = _labels(shown["suppression"], k)

    if config.pool_quarters:
        groups = units[units["group_id"].notna()]
        pooled = pool_quarters(
            groups, unit_cols=("group_id", "indicator"), n_col="n",
            sum_cols=("sum_score", "sum_sq", "hits"), k=k,
        )
        if len(pooled):
            n = pooled["n"].astype(float)
            pooled["mean"] = pooled["sum_score"] / n
            pooled["sd"] = np.sqrt(
                np.clip((pooled["sum_sq"] - n * pooled["mean"] ** 2) / (n - 1), 0, None)
            )
            pooled = _figures(pooled)
            key = ["quarter", "group_id", "indicator"]
            replace = shown.merge(pooled[key], on=key, how="left", indicator="_pooled")
            replace = (replace["_pooled"] == "both").to_numpy() & \
                (shown["suppression"] == "primary").to_numpy()
            merged = shown[replace].drop(
                columns=["value", "ci_low", "ci_high", "mean", "sd", "hits", "n"]
            ).merge(pooled[key + ["value", "ci_low", "ci_high", "mean", "sd", "hits", "n",
                                  "pooled_quarters"]], on=key, how="left")
            merged["status"] = "ok"
            merged["suppression"] = None
            merged["pooled"] = True
            merged["note"] = POOLED_LABEL + " (" + merged["pooled_quarters"] + ")"
            shown = pd.concat([shown[~replace], merged.drop(columns=["pooled_quarters"])],
                              ignore_index=True)

    shown["target"] = np.nan
    return shown[["quarter", "group_id", "indicator", "value", "n", "ci_low", "ci_high", "status",
                  "pooled", "hits", "target", "note", "sd"]]


def survey_inclusion(con: duckdb.DuckDBPyConnection, config: Config,
                     shown_groups: pd.DataFrame) -> pd.DataFrame:
    """Survey indicators by group modality, language and time-zone band, suppressed as usual.

    A category pools only the responses of groups whose own figure is shown that quarter
    (`shown_groups`: quarter, group_id, indicator with status 'ok'). Pooling a hidden group in
    would let "Spanish-speaking groups" minus the visible Spanish group reveal the hidden one;
    pooled from shown groups only, a category tells nothing the group figures don't.
    """
    visible = shown_groups.loc[
        shown_groups["group_id"].notna() & (shown_groups["status"] == "ok"),
        ["quarter", "group_id", "indicator"],
    ]
    con.register("visible_group_figures", visible)
    try:
        units = _inclusion_units(con)
    finally:
        con.unregister("visible_group_figures")
    if units.empty:
        return pd.DataFrame(columns=["quarter", "dimension", "category", "indicator", "value",
                                     "n", "ci_low", "ci_high", "status"])
    shown = suppress_small_cells(
        _figures(units), value_cols=("value", "ci_low", "ci_high"),
        parent_cols=("quarter", "dimension", "indicator"), k=config.min_responses,
    )
    return shown[["quarter", "dimension", "category", "indicator", "value", "n", "ci_low",
                  "ci_high", "status"]]


def _inclusion_units(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """
        WITH named AS (
            SELECT s.quarter, s.group_id, g.modality, g.language, g.tz_band,
                   CASE s.construct WHEN 'loneliness' THEN 'loneliness_share'
                        ELSE s.construct END AS indicator,
                   s.score,
                   -- (macros from metrics.definitions, installed by the refresh)
                   CASE s.construct WHEN 'loneliness' THEN is_lonely(s.score)::INTEGER
                        WHEN 'willingness_to_lead' THEN is_willing(s.score)::INTEGER END AS hit
            FROM marts.survey_scores s JOIN marts.groups g USING (group_id)
        ),
        scored AS (
            SELECT n.* EXCLUDE (group_id) FROM named n
            SEMI JOIN visible_group_figures v USING (quarter, group_id, indicator)
        )
        SELECT quarter, dimension, category, indicator, count(*) AS n, avg(score) AS mean,
               stddev_samp(score) AS sd, sum(hit) AS hits
        FROM scored
        UNPIVOT (category FOR dimension IN (modality, language, tz_band))
        GROUP BY ALL
        ORDER BY ALL
        """
    ).df()


def reliability_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Cronbach's alpha (Feldt 95% interval) per quarter x multi-item construct x policy."""
    rows = []
    constructs = con.execute(
        "SELECT construct, list(item_id ORDER BY position) FROM stage_instrument "
        "GROUP BY construct HAVING count(*) >= 2 ORDER BY construct"
    ).fetchall()
    for construct, items in constructs:
        wide = con.execute(
            f"""
            PIVOT (
                SELECT r.quarter, s.response_id, s.item_id, s.keyed::DOUBLE AS keyed
                FROM stage_item_scores s JOIN stage_responses r USING (response_id)
                WHERE s.construct = ?
            ) ON item_id IN ({", ".join(sql_literal(i) for i in items)})
            USING first(keyed) GROUP BY quarter, response_id
            """,
            [construct],
        ).df()
        # responses in a fixed order: the sums behind alpha then do not depend on how DuckDB's
        # threads happened to pivot (or on which quarters this refresh rebuilds)
        wide = wide.sort_values(["quarter", "response_id"], ignore_index=True)
        for quarter, answers in wide.groupby("quarter", sort=True):
            matrix = answers[[c for c in items if c in answers.columns]]
            for policy in ("pairwise", "listwise"):
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    # too few answers give NaN alpha, which is reported as such
                    warnings.simplefilter("ignore", RuntimeWarning)
                    result = cronbach_alpha(matrix, policy=policy)
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


def comments_table(con: duckdb.DuckDBPyConnection, config: Config) -> pd.DataFrame:
    """Free-text comments of units with at least config.min_comments responses (plain text)."""
    units = con.execute(
        "SELECT quarter, group_id, responses FROM stage_survey_responses "
        "UNION ALL SELECT quarter, NULL, sum(responses) FROM stage_survey_responses GROUP BY quarter"
    ).fetchall()
    visible_groups = [(q, g) for q, g, n in units
                      if g is not None and comments_visible(n, config.min_comments)]
    visible_program = [q for q, g, n in units if g is None and comments_visible(n, config.min_comments)]
    comments = con.execute(
        """
        SELECT quarter, group_id, trim(comment) AS comment FROM stage_responses
        WHERE comment IS NOT NULL AND trim(comment) <> ''
        ORDER BY quarter, group_id, comment
        """
    ).df()
    group_rows = comments.merge(pd.DataFrame(visible_groups, columns=["quarter", "group_id"]),
                                on=["quarter", "group_id"])
    program_rows = comments[comments["quarter"].isin(visible_program)].assign(group_id=None)
    out = pd.concat([program_rows, group_rows], ignore_index=True)
    return out.sort_values(["quarter", "group_id", "comment"], na_position="first",
                           ignore_index=True)
