"""Struggling-group flags: per group x quarter, a plain-language reason and the evidence.

Each flag is a test a coach can check by hand from the evidence it carries:

- declining_attendance: over the group's last 8 sessions (up to the quarter's end, the latest
  in the quarter), the Theil-Sen slope of session attendance is negative, Kendall's test of
  trend has p < 0.05 (statistics.theil_sen_trend), and the fitted fall over the 8 sessions is
  at least 10 percentage points (a significant 89% -> 88% drift is not worth a coach's call).
  SQL computes Kendall's S and the Theil-Sen slope for every group; only groups that could
  qualify (Kendall z <= -1.9 and a large enough fall) are tested in Python.
- below_expected_attendance: attendance rate under the funnel's over-dispersion-adjusted
  99.8% lower limit. The 95% limit flags about 1 ordinary group in 40 every quarter by chance
  alone, and attendance varies between healthy groups more than binomial noise; the adjusted
  99.8% limit keeps the flag for groups that are really out of line.
- low_safety / low_belonging: the survey index under its funnel's 99.8% lower limit, only where
  the figure is shown (never from suppressed or pooled figures).
- single_host: one member hosted more than 75% of the quarter's sessions (at least 4 hosted).
- shrinking: fewer than 5 active members, or active members fell two quarters running and by
  at least a quarter overall.
- newcomers_not_returning: at least 3 first-timers judged, and even the upper end of the
  group's 95% interval for newcomer return is below the program's newcomer return.
- withdrawal_cluster: 2 or more members with withdrawal signals (marts.watchlist).
- cant_tell_yet: fewer than 4 sessions in the quarter so far (or attendance too thin to rate):
  too little to judge the group either way.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

from metrics.change import previous_positions
from metrics.statistics import theil_sen_trends

TREND_SESSIONS = 8
TREND_P = 0.05
# A significant but tiny slope (89% -> 88%) is not news to a coach: the fitted fall over the
# window must also be at least 10 percentage points.
MIN_TREND_DROP = 0.10
SINGLE_HOST_SHARE = 0.75
MIN_ACTIVE = 5
SUSTAINED_DROP = 0.25
MIN_SESSIONS_TO_JUDGE = 4
SURVEY_LIMIT = "lo998"
# Kendall z (from S and its tie-corrected variance) below which a window is tested exactly;
# scipy.stats.kendalltau calls a trend significant only from |z| >= 1.96 (exact test for 8
# untied values: |S| >= 16, z >= 1.98), so no significant trend is skipped.
TREND_PREFILTER_Z = -1.9


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _evidence(**values) -> str:
    def clean(v):
        if isinstance(v, float | np.floating):
            return None if not np.isfinite(v) else round(float(v), 4)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v
    return json.dumps({k: clean(v) for k, v in values.items()}, ensure_ascii=False)


def trend_candidates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Group x quarter whose last 8 session rates have a Kendall z this low, with the rates."""
    return con.execute(
        f"""
        WITH eligible AS (
            -- a group's sessions with someone expected, numbered k = 1, 2, ... in seq order
            SELECT group_id, seq, session_date, attended / expected AS rate,
                   row_number() OVER (PARTITION BY group_id ORDER BY seq) AS k
            FROM marts.session_attendance WHERE expected > 0
        ),
        dated AS (
            SELECT group_id, session_date, max(k) AS k_by_date FROM eligible GROUP BY ALL
        ),
        -- the last such session up to each quarter's ref_date (dates rise with seq)
        ends AS (
            SELECT gq.group_id, gq.quarter, gq.q_start, d.k_by_date AS k_end
            FROM stage_group_quarters gq
            ASOF JOIN dated d ON d.group_id = gq.group_id AND gq.ref_date >= d.session_date
        ),
        -- ... and the {TREND_SESSIONS} before it (back = 1 is the latest); recent: the latest
        -- falls in the quarter
        last AS (
            SELECT e.group_id, e.quarter, s.seq, s.session_date, s.rate,
                   e.k_end - s.k + 1 AS back,
                   max(s.session_date >= e.q_start)
                       OVER (PARTITION BY e.group_id, e.quarter) AS recent
            FROM ends e
            JOIN eligible s
              ON s.group_id = e.group_id AND s.k BETWEEN e.k_end - {TREND_SESSIONS - 1} AND e.k_end
        ),
        full_windows AS (
            SELECT group_id, quarter FROM last GROUP BY ALL
            HAVING count(*) = {TREND_SESSIONS} AND bool_and(recent)
        ),
        s AS (
            SELECT a.group_id, a.quarter, sum(sign(b.rate - a.rate)) AS kendall_s,
                   median((b.rate - a.rate) / (a.back - b.back)) AS theil_sen
            FROM last a JOIN last b
              ON a.group_id = b.group_id AND a.quarter = b.quarter AND a.back > b.back
            JOIN full_windows f ON f.group_id = a.group_id AND f.quarter = a.quarter
            GROUP BY ALL
        ),
        ties AS (
            SELECT group_id, quarter, sum(t * (t - 1) * (2 * t + 5)) AS tie_term
            FROM (SELECT group_id, quarter, rate, count(*) AS t FROM last GROUP BY ALL)
            GROUP BY ALL
        ),
        z AS (
            SELECT s.group_id, s.quarter, s.kendall_s, s.theil_sen,
                   s.kendall_s / sqrt(nullif(({TREND_SESSIONS} * ({TREND_SESSIONS} - 1)
                       * (2 * {TREND_SESSIONS} + 5) - t.tie_term) / 18.0, 0)) AS kendall_z
            FROM s JOIN ties t USING (group_id, quarter)
        )
        SELECT z.group_id, z.quarter, list(l.rate ORDER BY l.seq) AS rates,
               list(l.session_date ORDER BY l.seq) AS dates
        FROM z JOIN last l USING (group_id, quarter)
        WHERE z.kendall_z <= {TREND_PREFILTER_Z}
          AND -z.theil_sen * ({TREND_SESSIONS} - 1) >= {MIN_TREND_DROP}
        GROUP BY ALL
        ORDER BY ALL
        """
    ).df()


def _wide(indicators: pd.DataFrame) -> pd.DataFrame:
    """Group rows as one row per (quarter, group_id), columns (field, indicator)."""
    used = ["sessions_held", "attendance_rate", "top_host_share", "distinct_hosts",
            "active_members", "newcomer_return"]
    groups = indicators[indicators["group_id"].notna() & indicators["indicator"].isin(used)]
    fields = ["value", "n", "hits", "status", "ci_low", "ci_high", "target"]
    wide = groups.set_index(["quarter", "group_id", "indicator"])[fields].unstack("indicator")
    wide.columns = [f"{field}:{key}" for field, key in wide.columns]
    return wide.reset_index()


def build_flags(
    con: duckdb.DuckDBPyConnection, indicators: pd.DataFrame, points: pd.DataFrame,
) -> pd.DataFrame:
    """marts.flags: one row per group x quarter x flag."""
    rows: list[dict] = []

    def add(quarter, group_id, flag, reason, evidence):
        rows.append({"quarter": quarter, "group_id": group_id, "flag": flag, "reason": reason,
                     "evidence": evidence})

    wide = _wide(indicators)
    program = indicators[indicators["group_id"].isna()].set_index(["quarter", "indicator"])

    # declining_attendance (every candidate window tested at once: statistics.theil_sen_trends)
    candidates = trend_candidates(con)
    trends = theil_sen_trends(np.array([list(r) for r in candidates["rates"]], dtype=float)
                              .reshape(len(candidates), TREND_SESSIONS))
    for i, r in enumerate(candidates.itertuples()):
        trend = {k: v[i] for k, v in trends.items()}
        drop = -trend["slope"] * (TREND_SESSIONS - 1)
        if np.isfinite(trend["p_value"]) and trend["p_value"] < TREND_P \
                and drop >= MIN_TREND_DROP:
            first, last = r.rates[0], r.rates[-1]
            add(r.quarter, r.group_id, "declining_attendance",
                f"Attendance has been falling over the last {TREND_SESSIONS} sessions, from "
                f"{_pct(first)} to {_pct(last)} (about {abs(100 * trend['slope']):.1f} points "
                f"per session; Kendall test p = {trend['p_value']:.3f}).",
                _evidence(session_rates=[float(x) for x in r.rates],
                          session_dates=[str(d)[:10] for d in r.dates],
                          slope_per_session=trend["slope"], slope_low=trend["slope_low"],
                          slope_high=trend["slope_high"], kendall_tau=trend["tau"],
                          p_value=trend["p_value"]))

    # funnel-based flags
    checks = (
        ("attendance_rate", "below_expected_attendance", "lo998", "Attendance",
         "member-sessions"),
        ("psychological_safety", "low_safety", SURVEY_LIMIT, "Psychological safety", "responses"),
        ("belonging", "low_belonging", SURVEY_LIMIT, "Belonging", "responses"),
    )
    for key, flag, limit, title, unit in checks:
        below = points[(points["indicator"] == key) & (points["value"] < points[limit])]
        for p in below.itertuples():
            if key == "attendance_rate":
                shown = (_pct(p.value), _pct(getattr(p, limit)), _pct(p.target))
            else:
                shown = (f"{p.value:.0f}", f"{getattr(p, limit):.0f}", f"{p.target:.0f}")
            add(p.quarter, p.group_id, flag,
                f"{title} is {shown[0]} ({p.n} {unit}), below the lowest level expected for a "
                f"group of this size ({shown[1]}, the funnel's "
                f"{'99.8' if limit == 'lo998' else '95'}% limit around the program's "
                f"{shown[2]}).",
                _evidence(value=p.value, n=p.n, program=p.target, lower_limit=getattr(p, limit),
                          limit="99.8%" if limit == "lo998" else "95%", overdispersion_phi=p.phi))

    def col(field, key):
        name = f"{field}:{key}"
        return wide[name] if name in wide.columns else pd.Series(np.nan, index=wide.index)

    def rows_where(mask):
        return wide[mask.fillna(False).astype(bool)].to_dict("records")

    held = col("value", "sessions_held").fillna(0)
    thin = (held < MIN_SESSIONS_TO_JUDGE) | (col("status", "attendance_rate") != "ok")
    for w in rows_where(thin):
        held_value = w.get("value:sessions_held")
        n_held = 0 if held_value is None or not np.isfinite(held_value) else int(held_value)
        add(w["quarter"], w["group_id"], "cant_tell_yet",
            f"Only {n_held} session{'' if n_held == 1 else 's'} recorded this quarter: "
            "too little to judge how the group is doing yet.",
            _evidence(sessions_held=n_held,
                      sessions_expected=w.get("target:sessions_held"),
                      expected_member_sessions=w.get("n:attendance_rate")))

    single = (col("value", "top_host_share") > SINGLE_HOST_SHARE) \
        & (col("n", "top_host_share") >= MIN_SESSIONS_TO_JUDGE)
    for w in rows_where(single):
        top, n, value = w["hits:top_host_share"], w["n:top_host_share"], w["value:top_host_share"]
        add(w["quarter"], w["group_id"], "single_host",
            f"One member hosted {int(top)} of {int(n)} sessions ({_pct(value)}); hosting "
            "is not rotating.",
            _evidence(top_host_sessions=top, sessions_with_host=n, top_host_share=value,
                      distinct_hosts=w.get("value:distinct_hosts")))

    active = col("value", "active_members")
    active_values = active.to_numpy(dtype=float, na_value=np.nan)

    def quarters_back(steps):
        """Active members of the same group `steps` quarters earlier (NaN: no such row)."""
        position = previous_positions(wide["quarter"], [wide["group_id"]], steps)
        if position is None:  # (quarter, group) rows are unique by construction (unstack)
            raise AssertionError("flags: repeated (quarter, group_id) rows")
        return pd.Series(np.where(position >= 0, active_values[position], np.nan),
                         index=wide.index, dtype=float)

    before, earlier = quarters_back(1), quarters_back(2)
    wide["_before"], wide["_earlier"] = before, earlier
    judged = held >= MIN_SESSIONS_TO_JUDGE
    too_few = judged & (active < MIN_ACTIVE)
    falling = judged & ~too_few & (earlier > 0) & (active < before) & (before < earlier) \
        & ((earlier - active) / earlier >= SUSTAINED_DROP)
    for w in rows_where(too_few):
        a = int(w["value:active_members"])
        add(w["quarter"], w["group_id"], "shrinking",
            f"Only {a} member{'' if a == 1 else 's'} came this quarter; a group needs at least "
            f"{MIN_ACTIVE} to work (design size 8-12).",
            _evidence(active_members=a, previous_quarter=w["_before"],
                      roster=w.get("n:active_members")))
    for w in rows_where(falling):
        e, b, a = w["_earlier"], w["_before"], w["value:active_members"]
        add(w["quarter"], w["group_id"], "shrinking",
            f"Active members fell two quarters running, from {int(e)} to {int(b)} to {int(a)}.",
            _evidence(active_members=[e, b, a], drop=(e - a) / e))

    program_return = {q: v for (q, key), v in program["value"].items()
                      if key == "newcomer_return"}
    wide["_program_return"] = wide["quarter"].map(program_return).astype(float)
    not_returning = (col("status", "newcomer_return") == "ok") \
        & (col("ci_high", "newcomer_return") < wide["_program_return"])
    for w in rows_where(not_returning):
        hits, n, value = w["hits:newcomer_return"], w["n:newcomer_return"], \
            w["value:newcomer_return"]
        add(w["quarter"], w["group_id"], "newcomers_not_returning",
            f"{int(hits)} of {int(n)} first-timers came back within 3 sessions "
            f"({_pct(value)}); the program's rate is {_pct(w['_program_return'])}.",
            _evidence(returned=hits, first_timers=n, share=value,
                      ci_low=w["ci_low:newcomer_return"], ci_high=w["ci_high:newcomer_return"],
                      program=w["_program_return"]))

    clusters = con.execute(
        "SELECT quarter, group_id, count(DISTINCT member_id) AS members, "
        "list(DISTINCT signal ORDER BY signal) AS signals "
        "FROM marts.watchlist GROUP BY ALL HAVING count(DISTINCT member_id) >= 2 ORDER BY ALL"
    ).df()
    for r in clusters.itertuples():
        add(r.quarter, r.group_id, "withdrawal_cluster",
            f"{r.members} members show withdrawal signals (see the watchlist).",
            _evidence(members=r.members, signals=list(r.signals)))

    order = {"cant_tell_yet": 99}
    out = pd.DataFrame(rows, columns=["quarter", "group_id", "flag", "reason", "evidence"])
    out["_o"] = out["flag"].map(order).fillna(0)
    return out.sort_values(["quarter", "group_id", "_o", "flag"], ignore_index=True).drop(
        columns="_o")
