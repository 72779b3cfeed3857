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
    # The smallest change between quarters worth calling "up" or "down", in the indicator's
    # own units (0.02 = 2 percentage points for shares; index points for survey indices); for
    # counts, a share of last quarter's count (and at least 1). A clear change smaller than
    # this is "no meaningful change". None: the indicator gets no change test.
    min_change: float | None = None


# Practical minimum changes (see Indicator.min_change and docs/metrics.md).
RATE_MIN_CHANGE = 0.02      # 2 percentage points, for shares and retention
INDEX_MIN_CHANGE = 3.0      # 3 points on a 0-100 survey index
COUNT_MIN_CHANGE = 0.05     # 5% of last quarter's count, and at least 1

INDICATORS: tuple[Indicator, ...] = (
    Indicator("attendance_rate", "Attendance rate", "proportion", "participation", 10, True,
              "expected member-sessions", RATE_MIN_CHANGE),
    Indicator("active_members", "Active members", "count", "participation", 0, True,
              "members on the roster", COUNT_MIN_CHANGE),
    Indicator("sessions_held", "Sessions held", "count", "participation", 0, True,
              "sessions", COUNT_MIN_CHANGE),
    Indicator("newcomer_return", "Newcomer return", "proportion", "participation", 3, True,
              "first-timers judged", RATE_MIN_CHANGE),
    Indicator("retention", "Retention", "survival", "participation", 5, True,
              "memberships followed", RATE_MIN_CHANGE),
    Indicator("buddy_coverage", "Buddy coverage", "proportion", "participation", 3, True,
              "active members", RATE_MIN_CHANGE),
    Indicator("belonging", "Belonging", "mean", "survey", 0, True, "responses",
              INDEX_MIN_CHANGE),
    Indicator("psychological_safety", "Psychological safety", "mean", "survey", 0, True,
              "responses", INDEX_MIN_CHANGE),
    Indicator("peer_support", "Peer support", "mean", "survey", 0, True, "responses",
              INDEX_MIN_CHANGE),
    Indicator("loneliness_share", "Lonely (share)", "proportion", "survey", 0, False,
              "responses", RATE_MIN_CHANGE),
    Indicator("willingness_to_lead", "Willing to lead (share)", "proportion", "survey", 0, True,
              "responses", RATE_MIN_CHANGE),
    Indicator("hosting_breadth", "Hosting breadth", "proportion", "leadership", 3, True,
              "active members", RATE_MIN_CHANGE),
    Indicator("distinct_hosts", "Distinct hosts", "count", "leadership", 0, True,
              "sessions with a host", COUNT_MIN_CHANGE),
    Indicator("top_host_share", "Top host's share", "proportion", "leadership", 3, False,
              "sessions with a host", RATE_MIN_CHANGE),
    Indicator("host_hhi", "Host concentration (HHI)", "mean", "leadership", 3, False,
              "sessions with a host"),
    Indicator("new_hosts", "New hosts", "count", "leadership", 0, True, "hosts this quarter",
              COUNT_MIN_CHANGE),
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


# Thresholds the SQL steps use. The refresh hands them to SQL as the macros is_lonely(total),
# is_willing(score) and is_regular(attended, expected) (metrics.refresh.install_macros), so
# this is their one home.
#: A member is *regular* when they attended at least this share of their expected sessions
#: (the participation funnel's "regular" stage and the watchlist's "stopped coming": regular
#: before, over the up-to-8 sessions before the current run).
REGULAR_SHARE = 0.6
#: A loneliness total (3 items scored 1-3, so 3-9) at or above this counts as lonely.
LONELY_TOTAL = 6
#: A willingness-to-lead answer (1-5) at or above this counts as agreeing (the top two points).
WILLING_SCORE = 4
#: Cronbach's alpha below this: the construct's index is read with caution (scoring's
#: reliability table sets its `warning`; the review and the method page say so).
ALPHA_WARNING = 0.7


@dataclass(frozen=True)
class FlagRule:
    """One struggling-group flag: its test level and the smallest gap a coach would act on.

    ``alpha`` is the level of the flag's test for one group in one quarter (None: a rule with
    no test). It is chosen from null programs (benchmarks/flags.py), so that all flags together
    raise at most about one chance flag per 100 group-quarters, whatever the program's size.
    ``min_gap`` is the practical minimum in ``gap_unit``: a statistically clear but smaller
    shortfall is not raised.
    """

    flag: str
    title: str
    alpha: float | None
    min_gap: float | None
    gap_unit: str


FLAG_RULES: tuple[FlagRule, ...] = (
    FlagRule("declining_attendance", "Attendance falling", 0.01, 0.15,
             "fitted fall over the last 8 sessions (share)"),
    FlagRule("below_expected_attendance", "Attendance below the program", 0.0001, 0.15,
             "share below the rest of the program"),
    FlagRule("low_safety", "Low psychological safety", 0.00003, 15.0,
             "index points below the rest of the program"),
    FlagRule("low_belonging", "Low belonging", 0.00003, 15.0,
             "index points below the rest of the program"),
    FlagRule("single_host", "One member hosts", None, 0.75, "top host's share of sessions"),
    FlagRule("shrinking", "Shrinking", None, 0.25, "fall in active members over two quarters"),
    FlagRule("newcomers_not_returning", "Newcomers not returning", 0.10, 0.25,
             "share below the rest of the program"),
    FlagRule("withdrawal_cluster", "Members withdrawing", None, 2, "members with signals"),
    FlagRule("meeting_less_often", "Meeting less often than planned", None, 1 / 3,
             "share of the sessions the cadence expects that were not held"),
    # Changes against the group's own last quarter, by the review's change test (alpha is the
    # level of its p for one group in one quarter, like the rules above: adjusting across all
    # groups, as the review's verdicts do, left a buddy system that stopped dead in a group of
    # ten unflagged in any program over ~30 groups - tests/story_sweep.py): a group can still
    # sit above the program's lower limit while its members' answers or habits fall away.
    FlagRule("belonging_falling", "Belonging falling", 0.005, 20.0,
             "index points fallen since last quarter"),
    FlagRule("safety_falling", "Psychological safety falling", 0.005, 20.0,
             "index points fallen since last quarter"),
    FlagRule("loneliness_rising", "Loneliness rising", 0.005, 0.3,
             "rise in the share of lonely answers since last quarter"),
    # buddy check-ins: 0.01 with coverage at or below BUDDY_STOPPED_SHARE (10%). At 0.005 a
    # group of 9 whose check-ins stopped from 67% (Fisher p = 0.009) went unflagged; at 0.01
    # with the old 20% the calibration's null programs raised 3 chance flags in 311
    # group-quarters (ordinary buddy systems do fall to 20% as pairs lapse), with 10% 1 - and
    # the sweep's planted stories all end at 0% (docs/metrics.md). The survey changes stay at
    # 0.005: at 0.01 they found one more of 25 stories for two more chance flags.
    FlagRule("buddy_checkins_stopped", "Buddy check-ins falling away", 0.01, 0.4,
             "fall in buddy coverage since last quarter (share of active members)"),
)

#: `buddy_checkins_stopped` also needs this quarter's coverage at or below this share (at most
#: one member in ten): the story is check-ins that have stopped, not a busy quarter followed
#: by a calm one (ordinary groups swing 40 points between quarters now and then, and fall to
#: 20% as their pairs lapse - tests/story_sweep.py, benchmarks/flags.py).
BUDDY_STOPPED_SHARE = 0.1

#: The change flags: (flag, indicator, direction of the bad move) - see FLAG_RULES.
CHANGE_FLAGS = (("belonging_falling", "belonging", -1), ("safety_falling", "psychological_safety", -1),
                ("loneliness_rising", "loneliness_share", +1),
                ("buddy_checkins_stopped", "buddy_coverage", -1))

FLAG_RULE = {rule.flag: rule for rule in FLAG_RULES}

#: Newcomer return is compared with the rest of the program's first-timers over this many
#: quarters (this one and those before it); with fewer than NEWCOMER_BASELINE_MIN first-timers
#: there, the group's own earlier quarters join the baseline.
NEWCOMER_BASELINE_QUARTERS = 4
NEWCOMER_BASELINE_MIN = 5

#: Chance flags per 100 group-quarters, all flags together, measured by benchmarks/flags.py on
#: null programs (the table in docs/metrics.md). `hearth flags` and the coach page turn it
#: into "how many flags would chance raise in a program this size".
CHANCE_FLAGS_PER_100 = 0.4


def state_words(state: str, since: str, quarters: int) -> str:
    """A flag's lifecycle in plain words: 'new this quarter', 'continuing, 3rd quarter (since
    2025Q4)', 'resolved this quarter'."""
    if state == "new":
        return "new this quarter"
    if state == "resolved":
        return "resolved this quarter"
    return f"continuing: {quarters} quarters running (since {since})"


def chance_flags_per_quarter(groups: int) -> float:
    """How many flags a program of `groups` groups would raise by chance alone in a quarter,
    from the calibration on null programs (definitions.CHANCE_FLAGS_PER_100)."""
    return CHANCE_FLAGS_PER_100 * max(groups, 0) / 100.0


def chance_sentence(groups: int) -> str:
    """The chance rate in plain words, for `hearth flags` and the coach page."""
    expected = chance_flags_per_quarter(groups)
    size = f"{groups:,} group{'' if groups == 1 else 's'}"
    if expected <= 0:
        return f"By chance alone, a program of {size} is not expected to see any flag."
    if expected < 0.75:
        rate = f"about one flag every {max(2, round(1 / expected))} quarters"
    elif expected < 1.5:
        rate = "about one flag a quarter"
    else:
        rate = f"about {expected:.0f} flags a quarter"
    return (f"By chance alone, a program of {size} would see {rate} on a group that is doing "
            f"fine (calibrated rate: {CHANCE_FLAGS_PER_100:g} per 100 group-quarters).")
