"""Participation and leadership indicators: intervals and status on the SQL steps' counts.

The counting is done in metrics/sql/05-07 (stage_counts, stage_km); this module turns
counts into figures a reader can trust:

- shares (attendance rate, newcomer return, buddy coverage, hosting breadth, top host's share)
  get a Wilson 95% interval: statistics.wilson_intervals;
- retention is a Kaplan-Meier survival with a Greenwood log(-log) interval, the same formula as
  statistics.kaplan_meier, applied to the Greenwood sums the SQL step accumulated per group;
- counts (active members, sessions held, distinct hosts, new hosts) are censuses, not samples:
  no interval;
- below an indicator's minimum data (metrics.definitions) the status is "insufficient" and no
  value is shown.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from metrics.definitions import BY_KEY, indicator_facts
from metrics.frames import query_frame
from metrics.statistics import survival_intervals, wilson_intervals


def with_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark rows below their indicator's minimum data as insufficient (and blank their value)."""
    out = frame.copy(deep=False)  # copy-on-write: the caller's frame is untouched
    minimum = indicator_facts(out["indicator"], "min_n").astype(float)
    unit = indicator_facts(out["indicator"], "unit")
    n = out["n"].fillna(0).astype(float)
    thin = ((n < minimum) | out["value"].isna()).to_numpy()
    out["status"] = np.where(thin, "insufficient", "ok")
    note = pd.Series(None, index=out.index, dtype=object)
    if thin.any():
        note[thin] = ("too little data: " + n[thin].astype(int).astype(str) + " " + unit[thin]
                      + " (needs " + minimum[thin].astype(int).astype(str) + ")")
    out["note"] = note
    for col in ("value", "ci_low", "ci_high"):
        out[col] = out[col].where(~thin)  # no number below the minimum data
    return out


def attendance_indicators(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Participation and leadership indicators per group x quarter and program-wide."""
    # retention rows carry the Greenwood sum of their Kaplan-Meier curve (program-wide: '*');
    # rows in a fixed order, so every refresh writes the same table
    counts = query_frame(
        con,
        """
        SELECT c.quarter, c.group_id, c.indicator, c.hits, c.n, c.value, c.target,
               k.greenwood_sum
        FROM stage_counts c
        LEFT JOIN stage_km k
          ON c.indicator = 'retention' AND k.quarter = c.quarter
         AND k.group_id = coalesce(c.group_id, '*')
        ORDER BY c.quarter, c.group_id NULLS FIRST, c.indicator
        """,
    )
    kind = indicator_facts(counts["indicator"], "kind")
    n = counts["n"].fillna(0).to_numpy(dtype=float)
    hits = counts["hits"].fillna(0).to_numpy(dtype=float)

    low = np.full(len(counts), np.nan)
    high = np.full(len(counts), np.nan)
    shares = (kind == "proportion").to_numpy()
    if shares.any():
        _, lo, hi = wilson_intervals(hits[shares], n[shares])
        low[shares], high[shares] = lo, hi
    surv = (kind == "survival").to_numpy() & counts["value"].notna().to_numpy()
    if surv.any():
        lo, hi = survival_intervals(counts["value"].to_numpy(dtype=float)[surv],
                                    counts["greenwood_sum"].to_numpy(dtype=float)[surv], n[surv])
        low[surv], high[surv] = lo, hi
    counts["ci_low"] = low
    counts["ci_high"] = high
    counts["pooled"] = False
    counts = counts.drop(columns=["greenwood_sum"])
    return with_status(counts)


def attendance_inclusion(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Attendance rate by modality, language, time-zone band, tier and captioning."""
    frame = con.execute(
        "SELECT quarter, dimension, category, hits, n FROM stage_inclusion_attendance "
        "ORDER BY quarter, dimension, category"
    ).df()
    value, low, high = wilson_intervals(frame["hits"].to_numpy(float), frame["n"].to_numpy(float))
    thin = frame["n"].to_numpy() < BY_KEY["attendance_rate"].min_n
    return pd.DataFrame({
        "quarter": frame["quarter"], "dimension": frame["dimension"],
        "category": frame["category"], "indicator": "attendance_rate",
        "value": np.where(thin, np.nan, value), "n": frame["n"],
        "ci_low": np.where(thin, np.nan, low), "ci_high": np.where(thin, np.nan, high),
        "status": np.where(thin, "insufficient", "ok"),
    })
