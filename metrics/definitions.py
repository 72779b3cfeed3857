"""The indicators Hearth reports: their keys, titles, kind, direction and minimum data.

One table of facts read by the refresh, the change tests, the review and the docs, so a rule
such as "newcomer return needs at least 3 judged newcomers" lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["proportion", "count", "mean", "survival"]


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    kind: Kind
    family: Literal["participation", "survey", "leadership"]
    min_n: int               # below this n the figure is "insufficient" (can't tell yet)
    higher_is_better: bool | None
    unit: str                # how n is counted, in words


INDICATORS: tuple[Indicator, ...] = (
    Indicator("attendance_rate", "Attendance rate", "proportion", "participation", 10, True,
              "expected member-sessions"),
    Indicator("active_members", "Active members", "count", "participation", 0, True,
              "members on the roster"),
    Indicator("sessions_held", "Sessions held", "count", "participation", 0, True,
              "sessions"),
    Indicator("newcomer_return", "Newcomer return", "proportion", "participation", 3, True,
              "first-timers judged"),
    Indicator("retention", "Retention", "survival", "participation", 5, True,
              "memberships followed"),
    Indicator("buddy_coverage", "Buddy coverage", "proportion", "participation", 3, True,
              "active members"),
    Indicator("belonging", "Belonging", "mean", "survey", 0, True, "responses"),
    Indicator("psychological_safety", "Psychological safety", "mean", "survey", 0, True,
              "responses"),
    Indicator("peer_support", "Peer support", "mean", "survey", 0, True, "responses"),
    Indicator("loneliness_share", "Lonely (share)", "proportion", "survey", 0, False,
              "responses"),
    Indicator("willingness_to_lead", "Willing to lead (share)", "proportion", "survey", 0, True,
              "responses"),
    Indicator("hosting_breadth", "Hosting breadth", "proportion", "leadership", 3, True,
              "active members"),
    Indicator("distinct_hosts", "Distinct hosts", "count", "leadership", 0, True,
              "sessions with a host"),
    Indicator("top_host_share", "Top host's share", "proportion", "leadership", 3, False,
              "sessions with a host"),
    Indicator("host_hhi", "Host concentration (HHI)", "mean", "leadership", 3, False,
              "sessions with a host"),
    Indicator("new_hosts", "New hosts", "count", "leadership", 0, True, "hosts this quarter"),
)

BY_KEY = {i.key: i for i in INDICATORS}

#: The keys `hearth review --json` reports, in order (the issue's list, then HHI).
REVIEW_KEYS = (
    "attendance_rate", "active_members", "sessions_held", "newcomer_return", "retention",
    "buddy_coverage", "belonging", "psychological_safety", "peer_support", "loneliness_share",
    "willingness_to_lead", "hosting_breadth", "distinct_hosts", "top_host_share", "new_hosts",
    "host_hhi",
)

SURVEY_KEYS = tuple(i.key for i in INDICATORS if i.family == "survey")
SURVEY_MEANS = ("belonging", "psychological_safety", "peer_support")
SURVEY_SHARES = ("loneliness_share", "willingness_to_lead")

STATUSES = ("ok", "suppressed", "insufficient")


def indicator_facts(keys, field: str):
    """`field` of each indicator key in `keys` (a Series), as a Series on the same index.

    The same as ``keys.map({k: getattr(v, field) for k, v in BY_KEY.items()})`` (NaN for an
    unknown or missing key), looked up once per distinct key rather than once per row.
    """
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(keys)
    values = [getattr(BY_KEY[k], field) if k in BY_KEY else None for k in uniques]
    if all(isinstance(v, str) or v is None for v in values):
        table = pd.Series(values, dtype="str").array  # taken with -1 (missing) as NaN
        return pd.Series(table.take(codes, allow_fill=True), index=keys.index)
    numbers = np.array([np.nan if v is None else v for v in values] + [np.nan])
    if not np.isnan(numbers[codes]).any():
        numbers = numbers[:-1].astype(type(values[0])) if values else numbers
    return pd.Series(numbers[codes], index=keys.index)


# Survey thresholds. The refresh hands them to SQL as the macros is_lonely(total) and
# is_willing(score) (metrics.refresh.install_macros), so this is their one home.
#: A loneliness total (3 items scored 1-3, so 3-9) at or above this counts as lonely.
LONELY_TOTAL = 6
#: A willingness-to-lead answer (1-5) at or above this counts as agreeing (the top two points).
WILLING_SCORE = 4
