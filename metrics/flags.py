"""Struggling-group flags: per group x quarter, a plain-language reason and the evidence.

Each flag is a test a coach can check by hand from the evidence it carries. Every flag has a
test level and a practical minimum (metrics.definitions.FLAG_RULES), both chosen from null
programs (benchmarks/flags.py) so that all flags together raise at most about one chance flag
per 100 group-quarters, and every comparison is with the *rest* of the program, never with a
baseline that includes the group itself:

- declining_attendance: over the group's last 8 sessions (up to the quarter's end, the latest
  in the quarter), the Theil-Sen slope of session attendance is negative, Kendall's test of
  trend has p below the rule's level, the fitted fall over the 8 sessions is at least the
  rule's minimum, and attendance over those 8 sessions is at least MIN_LEVEL_DROP below the
  group's own over the (at least 4, up to 8) sessions before them: a run of a few poor weeks
  in a group that is usually full is noise, a group that has really lost its level is not. SQL computes Kendall's S and the Theil-Sen slope for every group; only
  windows that could qualify (Kendall z <= -1.9 and a large enough fall) are tested in Python.
- below_expected_attendance: attendance rate under the lower funnel limit around the rest of
  the program's rate (leave-one-out), widened for the groups' over-dispersion (additive tau^2,
  so a large group is not flagged for a small gap), and at least the minimum gap below it.
- low_safety / low_belonging: the survey index under the lower limit around the rest of the
  program's mean, rest - z sqrt(s^2/n + tau^2) with tau^2 the between-group variance
  (DerSimonian-Laird, pooled over the program's quarters, without the group), and at least
  the minimum gap below; only where the figure is shown (never suppressed or pooled).
- single_host: one member hosted more than the rule's share of the quarter's sessions (at
  least 4 with a host).
- shrinking: fewer than 5 active members, or active members fell this quarter and are at least
  a quarter below the larger of the two quarters before.
- newcomers_not_returning: at least 3 first-timers judged this quarter (or, when fewer, this
  quarter and the last together: newcomers come one or two at a time); the baseline is the
  rest of the program's first-timers this quarter and the 3 before (the group's own earlier
  quarters join it when the rest holds fewer than 5); one-sided Fisher exact test below the
  rule's level, and the group's share at least the minimum gap below the baseline. A quarter
  where one group holds every newcomer still has a baseline, the program's first quarter
  compares each group's founders with the other groups', and a near-perfect baseline (99%)
  does not flag a group at 91%.
- withdrawal_cluster: at least the rule's number of members with withdrawal signals
  (marts.watchlist).
- meeting_less_often: at least a third of the sessions the group's cadence expects this
  quarter (so far) were not held, once the cadence expects at least 6.
- cant_tell_yet: fewer than 4 sessions in the quarter so far (or attendance too thin to rate):
  too little to judge the group either way. Information, not an alarm. A group meeting less
  often than its cadence gets meeting_less_often instead: the shortfall is the news.

Lifecycle (`with_lifecycle`): each raised flag carries `since` (the first quarter of its
unbroken run), `quarters` (the run's length) and `state` ("new" or "continuing"); a flag raised
last quarter and not this one, for a group judged this quarter, appears once more with state
"resolved".
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

from hearth.calendar import shift_quarter
from metrics.change import previous_positions
from metrics.definitions import (
    BUDDY_STOPPED_SHARE,
    BY_KEY,
    CHANGE_FLAGS,
    FLAG_RULE,
    NEWCOMER_BASELINE_MIN,
    NEWCOMER_BASELINE_QUARTERS,
)
from metrics.statistics import (
    fisher_exact_less_pvalues,
    funnel_limits_proportion,
    normal_upper_quantile,
    overdispersion_tau2,
    overdispersion_tau2_means_without_each,
    theil_sen_trends,
)

TREND_SESSIONS = 8
TREND_P = FLAG_RULE["declining_attendance"].alpha
# A significant but tiny slope (89% -> 88%) is not news to a coach: the fitted fall over the
# window must also reach the rule's minimum.
MIN_TREND_DROP = FLAG_RULE["declining_attendance"].min_gap
# ... and the window's attendance must sit this far below the group's own level before it,
# measured over at least MIN_BEFORE sessions
MIN_LEVEL_DROP = 0.10
MIN_BEFORE = 4
SINGLE_HOST_SHARE = FLAG_RULE["single_host"].min_gap
MIN_ACTIVE = 5
SUSTAINED_DROP = FLAG_RULE["shrinking"].min_gap
MIN_SESSIONS_TO_JUDGE = 4
MIN_FIRST_TIMERS = 3
# meeting_less_often: at least this share of the sessions the cadence expects were not held,
# judged once the cadence expects at least MIN_EXPECTED_FOR_CADENCE (half a weekly quarter; a
# fortnightly group must skip 3 of 7): a holiday week or two is not a pattern
LESS_OFTEN_SHARE = FLAG_RULE["meeting_less_often"].min_gap
MIN_EXPECTED_FOR_CADENCE = 6
# Kendall z (from S and its tie-corrected variance) below which a window is tested exactly;
# scipy.stats.kendalltau calls a trend significant only from |z| >= 1.96 (exact test for 8
# untied values: |S| >= 16, z >= 1.98), so no window significant at 5% or less is skipped.
TREND_PREFILTER_Z = -1.9
STATES = ("new", "continuing", "resolved")
#: What build_flags reads of the quarters before the first one it judges, per indicator: how
#: many quarters back (None: every earlier quarter). An incremental refresh hands it these kept
#: rows only (and every row of the quarters it rebuilds), not every earlier indicator row.
EARLIER_QUARTERS: dict[str, int | None] = {
    # newcomers_not_returning: the baseline is this quarter and the ones before it
    "newcomer_return": NEWCOMER_BASELINE_QUARTERS - 1,
    # shrinking: against the larger of the two quarters before
    "active_members": 2,
    # low_safety / low_belonging: tau^2 is pooled over every quarter of the program
    "psychological_safety": None,
    "belonging": None,
}


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


def trend_candidates(con: duckdb.DuckDBPyConnection, since: str | None = None) -> pd.DataFrame:
    """Group x quarter whose last 8 session rates have a Kendall z this low, with the rates and
    the group's own level over the (up to) 8 sessions before them; with `since`, the quarters
    from `since` on only (a quarter's windows end in it: earlier ones are judged as before)."""
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
            WHERE gq.quarter >= $since
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
        -- the (up to) {TREND_SESSIONS} sessions before the window: the group's own level
        before AS (
            SELECT e.group_id, e.quarter, avg(s.rate) AS before_rate, count(*) AS before_n
            FROM ends e
            JOIN eligible s
              ON s.group_id = e.group_id
             AND s.k BETWEEN e.k_end - {2 * TREND_SESSIONS - 1} AND e.k_end - {TREND_SESSIONS}
            GROUP BY ALL
        ),
        z AS (
            SELECT s.group_id, s.quarter, s.kendall_s, s.theil_sen,
                   s.kendall_s / sqrt(nullif(({TREND_SESSIONS} * ({TREND_SESSIONS} - 1)
                       * (2 * {TREND_SESSIONS} + 5) - t.tie_term) / 18.0, 0)) AS kendall_z
            FROM s JOIN ties t USING (group_id, quarter)
        )
        SELECT z.group_id, z.quarter, list(l.rate ORDER BY l.seq) AS rates,
               list(l.session_date ORDER BY l.seq) AS dates,
               any_value(b.before_rate) AS before_rate, any_value(b.before_n) AS before_n
        FROM z JOIN last l USING (group_id, quarter)
        LEFT JOIN before b USING (group_id, quarter)
        WHERE z.kendall_z <= {TREND_PREFILTER_Z}
          AND -z.theil_sen * ({TREND_SESSIONS} - 1) >= {MIN_TREND_DROP}
        GROUP BY ALL
        ORDER BY ALL
        """, {"since": since or ""}
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


def _comparable(indicators: pd.DataFrame, key: str) -> pd.DataFrame:
    """The groups' shown figures of one indicator (ok, not pooled), as funnel plots use."""
    rows = indicators[
        indicators["group_id"].notna() & (indicators["indicator"] == key)
        & (indicators["status"] == "ok") & ~indicators["pooled"].fillna(False).astype(bool)
    ]
    return rows


def attendance_below_rest(indicators: pd.DataFrame, since: str | None = None) -> pd.DataFrame:
    """Groups whose attendance rate is below the funnel limit around the rest of the program.

    Per quarter: rest = (all attended - the group's) / (all expected - the group's); the
    other groups' spread beyond binomial noise is the additive tau^2
    (statistics.overdispersion_tau2, estimated without the group, so that a group far out of
    line does not widen its own limit); limit = rest - z sqrt(rest (1 - rest) / n + tau^2),
    z for the rule's one-sided level. With `since`, only quarters from `since` on are judged
    (each quarter is compared within itself).
    """
    rule = FLAG_RULE["below_expected_attendance"]
    z = normal_upper_quantile(rule.alpha)  # one-sided: 0.001 -> 3.09
    out = []
    for quarter, unit in _comparable(indicators, "attendance_rate").groupby("quarter", sort=True):
        if since and quarter < since:
            continue
        hits, n = unit["hits"].to_numpy(float), unit["n"].to_numpy(float)
        if len(unit) < 2 or n.sum() <= 0:
            continue  # one group: nobody to compare with
        rest = (hits.sum() - hits) / (n.sum() - n)
        value = hits / n
        # tau^2 >= 0 only widens the limit, so a group at or above the limit without it (or
        # less than the minimum gap below the rest) cannot be flagged: its leave-one-out tau^2,
        # a sort of every other group, is never needed (at 10,000 groups, 10,000 such sorts a
        # quarter were most of the refresh)
        with np.errstate(divide="ignore", invalid="ignore"):
            plain_low = rest - z * np.sqrt(rest * (1 - rest) / n)
            could = (value < plain_low) & (rest - value >= rule.min_gap - 1e-9)
        group_ids = unit["group_id"].tolist()
        for i in np.flatnonzero(could):
            if not 0 < rest[i] < 1 or value[i] >= rest[i]:
                continue
            others = np.arange(len(unit)) != i
            tau2 = overdispersion_tau2(hits[others], n[others], rest[i]) \
                if others.sum() >= 2 else 0.0
            tau2 = 0.0 if not np.isfinite(tau2) else tau2
            low = funnel_limits_proportion(rest[i], [n[i]], z, tau2=tau2)[0][0]
            if value[i] < low and rest[i] - value[i] >= rule.min_gap - 1e-9:
                out.append({"quarter": quarter, "group_id": group_ids[i], "value": value[i],
                            "n": int(n[i]), "rest": rest[i], "limit": low, "tau2": tau2})
    return pd.DataFrame(out, columns=["quarter", "group_id", "value", "n", "rest", "limit",
                                      "tau2"])


def survey_below_rest(indicators: pd.DataFrame, key: str, flag: str) -> pd.DataFrame:
    """Groups whose survey index is below the limit around the rest of the program's mean.

    rest = the other shown groups' responses' mean that quarter; limit = rest -
    z sqrt(s^2/n + tau^2) with s the quarter's pooled within-group standard deviation and
    tau^2 the between-group variance of the program's other groups, pooled over quarters
    (statistics.overdispersion_tau2_means_without_each: a handful of groups a quarter still
    give a steady estimate, and a group out of line in any quarter does not widen its own).
    """
    rule = FLAG_RULE[flag]
    z = normal_upper_quantile(rule.alpha)  # one-sided: 0.001 -> 3.09
    shown = _comparable(indicators, key)
    if shown.empty or "sd" not in shown:
        return pd.DataFrame(columns=["quarter", "group_id", "value", "n", "rest", "limit",
                                     "tau2", "sd"])
    shown = shown.sort_values(["quarter", "group_id"])
    n = shown["n"].to_numpy(float)
    value = shown["value"].to_numpy(float)
    sd = shown["sd"].to_numpy(float)
    quarter = shown["quarter"].to_numpy()
    dof = np.clip(n - 1, 0, None)
    frame = pd.DataFrame({"quarter": quarter, "dss": dof * np.nan_to_num(sd) ** 2, "dof": dof,
                          "vn": value * n, "n": n})
    sums = frame.groupby("quarter")[["dss", "dof", "vn", "n"]].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled_sd = np.sqrt(sums["dss"].to_numpy() / sums["dof"].to_numpy())
        rest = (sums["vn"].to_numpy() - value * n) / (sums["n"].to_numpy() - n)
        se = pooled_sd / np.sqrt(n)
    tau2 = np.nan_to_num(overdispersion_tau2_means_without_each(
        value, se, quarter, shown["group_id"].to_numpy()), nan=0.0)
    with np.errstate(invalid="ignore"):
        low = rest - z * np.sqrt(pooled_sd**2 / n + tau2)
    below = np.isfinite(low) & (value < low) & (rest - value >= rule.min_gap - 1e-9)
    return pd.DataFrame({"quarter": quarter, "group_id": shown["group_id"].to_numpy(),
                         "value": value, "n": n.astype(int), "rest": rest, "limit": low,
                         "tau2": tau2, "sd": pooled_sd})[below].reset_index(drop=True)


def newcomer_baselines(indicators: pd.DataFrame, since: str | None = None) -> pd.DataFrame:
    """Per group x quarter with first-timers judged: the group's count and its baseline.

    The group's first-timers are this quarter's when there are at least MIN_FIRST_TIMERS of
    them, otherwise this quarter's and last quarter's together (newcomers arrive one or two at
    a time: a group whose five newcomers never return may hold only two in any one quarter).
    The baseline is every other group's first-timers in this quarter and the
    NEWCOMER_BASELINE_QUARTERS - 1 before it; when that holds fewer than
    NEWCOMER_BASELINE_MIN, the group's own earlier quarters join it. Columns quarter,
    group_id, hits, n, window (quarters counted), base_hits, base_n. With `since`, only
    quarters from `since` on are judged (the earlier ones still count in the baselines).
    """
    rows = indicators[indicators["group_id"].notna()
                      & (indicators["indicator"] == "newcomer_return")
                      & indicators["n"].notna()]
    quarters = rows["quarter"].tolist()
    groups = rows["group_id"].tolist()
    hits_of = rows["hits"].fillna(0).astype(float).tolist()
    n_of = rows["n"].astype(float).tolist()
    # plain dicts and lists: a pandas lookup per group and quarter was most of the flags step
    by_quarter: dict[str, list[float]] = {}
    for q, h, m in zip(quarters, hits_of, n_of, strict=True):
        total = by_quarter.setdefault(q, [0.0, 0.0])
        total[0] += h
        total[1] += m
    own = {(q, g): (h, m) for q, g, h, m in zip(quarters, groups, hits_of, n_of, strict=True)}
    windows = {q: [shift_quarter(q, -k) for k in range(NEWCOMER_BASELINE_QUARTERS)]
               for q in set(quarters)}
    out = []
    for quarter, group_id, _, count in zip(quarters, groups, hits_of, n_of, strict=True):
        if count < 1 or (since and quarter < since):
            continue
        window = windows[quarter]
        mine = window[:1] if count >= MIN_FIRST_TIMERS else window[:2]
        hits = sum(own.get((q, group_id), (0.0, 0.0))[0] for q in mine)
        n = sum(own.get((q, group_id), (0.0, 0.0))[1] for q in mine)
        if n < MIN_FIRST_TIMERS:
            continue
        base_hits = base_n = own_hits = own_n = 0.0
        for q in window:
            if q in by_quarter:
                base_hits += by_quarter[q][0]
                base_n += by_quarter[q][1]
            h, m = own.get((q, group_id), (0.0, 0.0))
            base_hits, base_n = base_hits - h, base_n - m
            if q not in mine:
                own_hits, own_n = own_hits + h, own_n + m
        if base_n < NEWCOMER_BASELINE_MIN:  # the rest is too thin: add the group's own past
            base_hits, base_n = base_hits + own_hits, base_n + own_n
        out.append((quarter, group_id, hits, n, "+".join(sorted(mine)), base_hits, base_n))
    return pd.DataFrame(out, columns=["quarter", "group_id", "hits", "n", "window",
                                      "base_hits", "base_n"])


def newcomers_below_rest(indicators: pd.DataFrame, since: str | None = None) -> pd.DataFrame:
    """Groups whose first-timers return clearly and meaningfully less than the baseline's.

    One-sided Fisher exact test of the group's returned / first-timers against the baseline's
    (hypergeometric: p = P(X <= returned) with the four margins fixed), so a small baseline's
    own uncertainty counts too; raised when p is below the rule's level and the group's share
    is at least the rule's minimum gap below the baseline's. With `since`, only quarters from
    `since` on are judged.
    """
    rule = FLAG_RULE["newcomers_not_returning"]
    base = newcomer_baselines(indicators, since)
    base = base[base["base_n"] > 0]
    if base.empty:
        return base.assign(share=[], baseline=[], p_value=[])
    hits, n = base["hits"].to_numpy(float), base["n"].to_numpy(float)
    base_hits, base_n = base["base_hits"].to_numpy(float), base["base_n"].to_numpy(float)
    p = fisher_exact_less_pvalues(hits, n, base_hits, base_n)
    out = base.assign(share=hits / n, baseline=base_hits / base_n, p_value=p)
    keep = (out["p_value"] < rule.alpha) & (out["baseline"] - out["share"] >= rule.min_gap - 1e-9)
    return out[keep]


def changed_since_last_quarter(indicators: pd.DataFrame,
                               since: str | None = None) -> pd.DataFrame:
    """Group-quarters whose belonging, safety, loneliness or buddy coverage moved the bad way
    since the group's own last quarter (definitions.CHANGE_FLAGS), by the review's change test.

    A row qualifies when the change test's p for the group (metrics.change.add_changes:
    Mann-Whitney U for the indices, two proportions for the shares; two-sided, not adjusted
    across groups) is below the rule's alpha, chosen like the other flags' levels so that chance
    flags stay near the calibrated rate, and the move is at least its min_gap. The change test only runs when both quarters' figures are released (not
    suppressed, not pooled), so a flag never tells a hidden group's survey story.
    Columns: quarter, group_id, flag, indicator, value, previous, delta, n, p_value.
    """
    columns = ["quarter", "group_id", "flag", "indicator", "value", "previous", "delta", "n",
               "p_value"]
    found = []
    for flag, key, direction in CHANGE_FLAGS:
        rule = FLAG_RULE[flag]
        rows = indicators[(indicators["indicator"] == key) & indicators["group_id"].notna()
                          & (indicators["status"] == "ok")]
        if since:
            rows = rows[rows["quarter"] >= since]
        move = direction * rows["delta"].astype(float)
        bad = (rows["p_value"].astype(float) < rule.alpha) \
            & (move >= rule.min_gap - 1e-9)
        if flag == "buddy_checkins_stopped":
            bad &= rows["value"].astype(float) <= BUDDY_STOPPED_SHARE + 1e-9
        hit = rows[bad.fillna(False).astype(bool)]
        if len(hit):
            found.append(pd.DataFrame({
                "quarter": hit["quarter"], "group_id": hit["group_id"], "flag": flag,
                "indicator": key, "value": hit["value"].astype(float),
                "previous": hit["value"].astype(float) - hit["delta"].astype(float),
                "delta": hit["delta"].astype(float), "n": hit["n"],
                "p_value": hit["p_value"].astype(float)}))
    if not found:
        return pd.DataFrame(columns=columns)
    return pd.concat(found, ignore_index=True)[columns]


def _change_reason(r) -> str:
    """The plain-language reason of a change flag, naming both quarters' figures."""
    title = BY_KEY[r.indicator].title
    p = f"change test p = {r.p_value:.3f}"
    if r.indicator == "buddy_coverage":
        return (f"Buddy check-ins have fallen away: {_pct(r.value)} of active members checked "
                f"in with a buddy in the last 30 days, down from {_pct(r.previous)} last "
                f"quarter ({p}).")
    if r.indicator == "loneliness_share":
        return (f"More members answer as lonely: {_pct(r.value)} of {int(r.n)} responses, up "
                f"from {_pct(r.previous)} last quarter ({p}).")
    return (f"{title} fell to {r.value:.0f} ({int(r.n)} responses) from {r.previous:.0f} last "
            f"quarter, {abs(r.delta):.0f} points down ({p}).")


def build_flags(
    con: duckdb.DuckDBPyConnection, indicators: pd.DataFrame,
    kept_flags: pd.DataFrame | None = None, since: str | None = None,
) -> pd.DataFrame:
    """marts.flags: one row per group x quarter x flag, with its lifecycle.

    `indicators` should hold every quarter (limits and baselines look back); with `since`,
    the rows of quarters before it are needed only as EARLIER_QUARTERS says. In a partial
    refresh, `kept_flags` holds the flags kept from the last refresh for quarters before `since`:
    they stand as they were (their "resolved" rows too), and the lifecycle of the new quarters'
    flags continues from them.
    """
    rows: list[dict] = []

    def add(quarter, group_id, flag, reason, evidence):
        rows.append({"quarter": quarter, "group_id": group_id, "flag": flag, "reason": reason,
                     "evidence": evidence})

    wide = _wide(indicators)

    # declining_attendance (every candidate window tested at once: statistics.theil_sen_trends)
    candidates = trend_candidates(con, since)
    trends = theil_sen_trends(np.array([list(r) for r in candidates["rates"]], dtype=float)
                              .reshape(len(candidates), TREND_SESSIONS))
    for i, r in enumerate(candidates.itertuples()):
        trend = {k: v[i] for k, v in trends.items()}
        drop = -trend["slope"] * (TREND_SESSIONS - 1)
        window = float(np.mean(r.rates))
        before_n = 0 if pd.isna(r.before_n) else int(r.before_n)
        below_own = r.before_rate - window if before_n >= MIN_BEFORE else np.nan
        if np.isfinite(trend["p_value"]) and trend["p_value"] < TREND_P \
                and drop >= MIN_TREND_DROP - 1e-9 and below_own >= MIN_LEVEL_DROP - 1e-9:
            first, last = r.rates[0], r.rates[-1]
            add(r.quarter, r.group_id, "declining_attendance",
                f"Attendance has been falling over the last {TREND_SESSIONS} sessions, from "
                f"{_pct(first)} to {_pct(last)} (about {abs(100 * trend['slope']):.1f} points "
                f"per session; Kendall test p = {trend['p_value']:.3f}); {_pct(window)} over "
                f"these sessions against {_pct(r.before_rate)} over the {int(r.before_n)} "
                "before them.",
                _evidence(session_rates=[float(x) for x in r.rates],
                          session_dates=[str(d)[:10] for d in r.dates],
                          slope_per_session=trend["slope"], slope_low=trend["slope_low"],
                          slope_high=trend["slope_high"], kendall_tau=trend["tau"],
                          p_value=trend["p_value"], fitted_fall=drop, level=TREND_P,
                          minimum_fall=MIN_TREND_DROP, window_rate=window,
                          rate_before=r.before_rate, sessions_before=r.before_n,
                          minimum_below_before=MIN_LEVEL_DROP))

    # below_expected_attendance: against the rest of the program (leave-one-out)
    for p in attendance_below_rest(indicators, since).itertuples():
        add(p.quarter, p.group_id, "below_expected_attendance",
            f"Attendance is {_pct(p.value)} ({p.n} member-sessions), below the lowest level "
            f"expected for a group of this size ({_pct(p.limit)}) around the rest of the "
            f"program's {_pct(p.rest)}.",
            _evidence(value=p.value, n=p.n, rest_of_program=p.rest, lower_limit=p.limit,
                      level=FLAG_RULE["below_expected_attendance"].alpha, tau2=p.tau2,
                      minimum_gap=FLAG_RULE["below_expected_attendance"].min_gap))

    # each group-quarter's standard deviation of scores, for every quarter (a partial refresh's
    # kept indicator rows do not carry it)
    # (the scores as last published: a late response the ledger holds back moves no evidence)
    # (of the two indices flagged only: the other indicators' rows never read it)
    spread = con.execute(
        "SELECT quarter, unit AS group_id, indicator, stddev_samp(score) AS sd "
        "FROM release.score_ledger WHERE unit <> '' "
        "AND indicator IN ('psychological_safety', 'belonging') GROUP BY ALL").df()
    surveyed = indicators.drop(columns=["sd"], errors="ignore").merge(
        spread, on=["quarter", "group_id", "indicator"], how="left")
    for key, flag, title in (("psychological_safety", "low_safety", "Psychological safety"),
                             ("belonging", "low_belonging", "Belonging")):
        for p in survey_below_rest(surveyed, key, flag).itertuples():
            add(p.quarter, p.group_id, flag,
                f"{title} is {p.value:.0f} ({p.n} responses), below the lowest level expected "
                f"for a group of this size ({p.limit:.0f}) around the rest of the program's "
                f"{p.rest:.0f}.",
                _evidence(value=p.value, n=p.n, rest_of_program=p.rest, lower_limit=p.limit,
                          level=FLAG_RULE[flag].alpha, within_group_sd=p.sd, tau2=p.tau2,
                          minimum_gap=FLAG_RULE[flag].min_gap))

    def col(field, key):
        name = f"{field}:{key}"
        return wide[name] if name in wide.columns else pd.Series(np.nan, index=wide.index)

    # in a partial refresh the flags of quarters before `since` are the kept ones (below): the
    # earlier quarters' rows are needed above (quarters_back) but not written out again
    rebuilt = wide["quarter"] >= since if since else pd.Series(True, index=wide.index)

    def rows_where(mask):
        chosen = mask.fillna(False).astype(bool) & rebuilt
        # (most rules raise nothing: skip cutting every column of the wide frame for them)
        return wide[chosen].to_dict("records") if chosen.any() else []

    held = col("value", "sessions_held").fillna(0)
    expected = col("target", "sessions_held").fillna(0)
    # a group that met 3 times when its cadence promised 13 is not "too early to judge": the
    # missing sessions are the news (and they leave too little to judge anything else by)
    less_often = (expected >= MIN_EXPECTED_FOR_CADENCE) \
        & ((expected - held) / expected.where(expected > 0) >= LESS_OFTEN_SHARE - 1e-9)
    for w in rows_where(less_often):
        n_held, n_expected = int(w["value:sessions_held"] or 0), int(w["target:sessions_held"])
        add(w["quarter"], w["group_id"], "meeting_less_often",
            f"Met {n_held} of the {n_expected} sessions its cadence expects so far this "
            f"quarter ({_pct(n_held / n_expected)}): members cannot come to sessions that "
            "are not held.",
            _evidence(sessions_held=n_held, sessions_expected=n_expected,
                      share_held=n_held / n_expected, minimum_missing=LESS_OFTEN_SHARE,
                      minimum_expected=MIN_EXPECTED_FOR_CADENCE))
    thin = ((held < MIN_SESSIONS_TO_JUDGE) | (col("status", "attendance_rate") != "ok")) \
        & ~less_often.fillna(False).astype(bool)
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
    # the larger of the two quarters before: a group that lost a quarter of its members in
    # one quarter or over two is shrinking, however the loss was spread
    peak = pd.concat([before, earlier], axis=1).max(axis=1)
    falling = judged & ~too_few & (peak > 0) & (active < before.fillna(np.inf)) \
        & ((peak - active) / peak >= SUSTAINED_DROP - 1e-9)
    for w in rows_where(too_few):
        a = int(w["value:active_members"])
        add(w["quarter"], w["group_id"], "shrinking",
            f"Only {a} member{'' if a == 1 else 's'} came this quarter; a group needs at least "
            f"{MIN_ACTIVE} to work (design size 8-12).",
            _evidence(active_members=a, previous_quarter=w["_before"],
                      roster=w.get("n:active_members")))
    for w in rows_where(falling):
        e, b, a = w["_earlier"], w["_before"], w["value:active_members"]
        top = max(x for x in (e, b) if np.isfinite(x))
        counts = " to ".join(str(int(x)) for x in (e, b, a) if np.isfinite(x))
        add(w["quarter"], w["group_id"], "shrinking",
            f"Active members fell by {_pct((top - a) / top)} over two quarters ({counts}).",
            _evidence(active_members=[e, b, a], drop=(top - a) / top))

    for r in newcomers_below_rest(indicators, since).itertuples():
        span = "" if "+" not in r.window else " over the last two quarters"
        add(r.quarter, r.group_id, "newcomers_not_returning",
            f"{int(r.hits)} of {int(r.n)} first-timers came back within 3 sessions{span} "
            f"({_pct(r.share)}); elsewhere in the program {_pct(r.baseline)} do "
            f"({int(r.base_hits)} of {int(r.base_n)} over the last "
            f"{NEWCOMER_BASELINE_QUARTERS} quarters).",
            _evidence(returned=r.hits, first_timers=r.n, quarters=r.window, share=r.share,
                      baseline=r.baseline, baseline_returned=r.base_hits,
                      baseline_first_timers=r.base_n, p_value=r.p_value,
                      level=FLAG_RULE["newcomers_not_returning"].alpha,
                      minimum_gap=FLAG_RULE["newcomers_not_returning"].min_gap))

    for r in changed_since_last_quarter(indicators, since).itertuples():
        rule = FLAG_RULE[r.flag]
        add(r.quarter, r.group_id, r.flag, _change_reason(r),
            _evidence(indicator=r.indicator, value=r.value, previous_quarter=r.previous,
                      change=r.delta, n=r.n, p_value=r.p_value, level=rule.alpha,
                      minimum_change=rule.min_gap))

    cluster = int(FLAG_RULE["withdrawal_cluster"].min_gap)
    clusters = con.execute(
        "SELECT quarter, group_id, count(DISTINCT member_id) AS members, "
        "list(DISTINCT signal ORDER BY signal) AS signals "
        f"FROM marts.watchlist WHERE quarter >= $since GROUP BY ALL "
        f"HAVING count(DISTINCT member_id) >= {cluster} ORDER BY ALL", {"since": since or ""}
    ).df()
    for r in clusters.itertuples():
        add(r.quarter, r.group_id, "withdrawal_cluster",
            f"{r.members} members show withdrawal signals (see the watchlist).",
            _evidence(members=r.members, signals=list(r.signals)))

    columns = ["quarter", "group_id", "flag", "reason", "evidence"]
    out = pd.DataFrame(rows, columns=columns)
    present = wide[["quarter", "group_id"]]
    if not since:
        return with_lifecycle(out, present)
    # earlier quarters stand as the last refresh flagged them (some tests above judged only
    # the quarters from `since` on); their raised flags carry the runs on, and their "resolved"
    # rows are kept as they are (resolving needs every earlier quarter's groups, which a partial
    # refresh does not read)
    out = out[out["quarter"] >= since]
    earlier = kept_flags if kept_flags is not None else pd.DataFrame(columns=[*columns, "state"])
    earlier = earlier[earlier["quarter"] < since]
    raised = earlier["state"] != "resolved"
    out = pd.concat([earlier.loc[raised, columns], out], ignore_index=True)
    rebuilt = with_lifecycle(out, present[present["quarter"] >= since])
    if not (~raised).any():
        return rebuilt
    return _in_order(pd.concat([rebuilt, earlier.loc[~raised, rebuilt.columns]], ignore_index=True))


def with_lifecycle(flags: pd.DataFrame, present: pd.DataFrame) -> pd.DataFrame:
    """Add since, quarters and state to raised flags, and a "resolved" row for each flag that
    was raised last quarter and is not this quarter, for a group judged this quarter.

    `present`: every (quarter, group_id) the program has figures for. A run is unbroken
    quarter to quarter; "resolved" is shown in the quarter after the run's last, and only then.
    A group too new or too thin to judge this quarter (cant_tell_yet) resolves nothing.
    """
    # (columns as Python lists: iterating Arrow-backed columns value by value is slow)
    keys = list(zip(*(flags[c].tolist() for c in ("quarter", "group_id", "flag")), strict=True))
    raised = set(keys)
    since, length = [], []
    for q, g, f in keys:
        first, run = q, 1
        while (shift_quarter(first, -1), g, f) in raised:
            first, run = shift_quarter(first, -1), run + 1
        since.append(first)
        length.append(run)
    out = flags.assign(since=since, quarters=length,
                       state=np.where(np.array(length) > 1, "continuing", "new"))
    judged = set(zip(present["quarter"].tolist(), present["group_id"].tolist(),
                     strict=True)) - {(q, g) for q, g, f in raised if f == "cant_tell_yet"}
    resolved = []
    after_of = {q: shift_quarter(q, 1) for q in set(since) | {q for q, _, _ in keys}}
    for (quarter, group_id, flag), first, run in zip(keys, since, length, strict=True):
        if flag == "cant_tell_yet":
            continue
        after = after_of[quarter]
        if (after, group_id) in judged and (after, group_id, flag) not in raised:
            when = first if first == quarter else f"{first} to {quarter}"
            resolved.append({
                "quarter": after, "group_id": group_id, "flag": flag,
                "reason": f"Resolved: raised in {when}, not raised this quarter.",
                "evidence": _evidence(last_raised=quarter, since=first, quarters_raised=run),
                "since": first, "quarters": run, "state": "resolved"})
    if resolved:
        out = pd.concat([out, pd.DataFrame(resolved)], ignore_index=True)
    return _in_order(out)


def _in_order(flags: pd.DataFrame) -> pd.DataFrame:
    """Flags by quarter and group, alarms first, then resolved ones, "can't tell yet" last."""
    order = {"cant_tell_yet": 99}
    out = flags.assign(_o=flags["flag"].map(order).fillna(0) + (flags["state"] == "resolved") * 50,
                       quarters=flags["quarters"].astype("int64"))
    return out.sort_values(["quarter", "group_id", "_o", "flag"], ignore_index=True).drop(
        columns="_o")

