"""Actions decided at a review, checked against the warehouse and followed up honestly.

plan_action checks an action against the warehouse (the group exists, the flag was raised on
it that quarter, the indicators are Hearth's) before hearth.actions stores it for the viewer.

follow_up reads, for each indicator an action aims to move, its figure in the quarter the action
was decided ("before") and in every later quarter ("after"), each through the read layer
(api.indicator_object: a survey figure only where released), with the change between them
tested as the review tests a change between neighbouring quarters (change.change_between),
p-values adjusted by Benjamini-Hochberg across the action's own tests, and the review's verdict
(statistics.change_verdicts), worded by presentation.verdict_words ("clearly up", ...).

A survey index's change is a Mann-Whitney test on the answers, which only the warehouse holds.
The refresh (hearth.orchestrate, via publish_action_tests) runs it for every action and
publishes the p-values as marts.action_survey_tests to the lead's and the coaches' snapshots;
follow_up on a snapshot reads them, so the Actions page gives the verdict `hearth actions show`
gives. Only pairs of shown figures are tested, and only on the answers those figures were made
of (survey_pvalues); a pair the last refresh did not test reads "tested at the next refresh".

Regression to the mean: a group flagged for being low tends to look better next time even if
nothing is done (part of what flagged it was bad luck). So beside each change stands the change
of the *comparable groups*: groups flagged in the same quarter (any flag but "can't tell yet")
that had no action (other than dropped ones) decided up to the later quarter, whose figure is
shown in both quarters. Their changes are summarised as a mean with its t interval
(statistics.mean_interval), and the action's group is placed among them with the Mann-Whitney
test of one value against their values (statistics.mann_whitney with a sample of one: the exact
permutation test of its rank). With m comparable groups one group's change can be told apart at
the 5% level only when 2 / (m + 1) < 0.05, i.e. m >= 40; below that the follow-up says the
data cannot tell them apart, which is the honest answer for one group of eight.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from hearth import actions as store
from hearth.access import Viewer
from hearth.config import Config
from hearth.errors import HearthError
from metrics import api
from metrics.change import MANN_WHITNEY, NOT_TESTED_HERE, change_between, has_survey_scores
from metrics.commands import format_figure
from metrics.definitions import BY_KEY, REVIEW_KEYS, SURVEY_MEANS
from metrics.presentation import CANT_TELL, TESTED_AT_NEXT_REFRESH, verdict_words
from metrics.statistics import benjamini_hochberg, change_verdicts, mann_whitney, mean_interval

ALPHA = 0.05

#: What the council and the community update count actions by: the family of the first
#: indicator an action aims to move, in the program's words.
THEMES = {
    "participation": "Participation",
    "survey": "How members feel",
    "leadership": "Shared leadership",
}

#: The indicators a flag speaks about: an action on a flag aims at these unless told otherwise.
FLAG_INDICATORS = {
    "declining_attendance": ["attendance_rate"],
    "below_expected_attendance": ["attendance_rate"],
    "low_safety": ["psychological_safety"],
    "low_belonging": ["belonging"],
    "single_host": ["top_host_share", "hosting_breadth"],
    "shrinking": ["active_members"],
    "newcomers_not_returning": ["newcomer_return"],
    "withdrawal_cluster": ["active_members", "attendance_rate"],
    "meeting_less_often": ["sessions_held"],
    "belonging_falling": ["belonging"],
    "safety_falling": ["psychological_safety"],
    "loneliness_rising": ["loneliness_share"],
    "buddy_checkins_stopped": ["buddy_coverage"],
}

#: The flag that only says "too little to judge": no comparison group is made of it.
NOT_A_JUDGEMENT = "cant_tell_yet"


def theme_of(indicators: list[str]) -> str:
    return THEMES[BY_KEY[indicators[0]].family]


def plan_action(
    con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection, viewer: Viewer, *,
    what: str, quarter: str | None = None, group_id: str | None = None, flag: str | None = None,
    indicators: list[str] | str | None = None, owner: str | None = None,
    due_on: str | None = None, status: str = "planned", notes: str = "",
) -> dict[str, Any]:
    """Check an action against the warehouse and store it (hearth.actions.add_action).

    quarter None: the latest quarter with data. An action on a flag needs that flag raised on
    the group in that quarter; its indicators default to the ones the flag speaks about.
    """
    q = api.resolve_quarter(con, quarter)
    if group_id is not None and group_id not in set(api.groups(con)["group_id"]):
        raise HearthError(f"no group {group_id!r} in the warehouse; `hearth review` lists them")
    if flag is not None:
        if group_id is None:
            raise HearthError("an action on a flag names the flagged group too (--group)")
        raised = set(api.flags(con, q, [group_id])["flag"])
        if flag not in raised:
            shown = ", ".join(sorted(raised)) or "none"
            raise HearthError(f"group {group_id} was not flagged {flag!r} in {q} "
                              f"(its flags then: {shown})")
    keys = store.parse_indicators(indicators) if indicators else FLAG_INDICATORS.get(flag or "", [])
    if not keys:
        raise HearthError("an action needs the indicator(s) it aims to move, e.g. "
                          "--indicator attendance_rate")
    unknown = [k for k in keys if k not in BY_KEY]
    if unknown:
        raise HearthError(f"unknown indicator {unknown[0]!r}; choose from "
                          f"{', '.join(REVIEW_KEYS)}")
    return store.add_action(
        state_con, viewer, quarter=q, what=what, indicators=keys, theme=theme_of(keys),
        group_id=group_id, flag=flag, owner=owner, due_on=due_on, status=status, notes=notes,
    )


def change_action(state_con: sqlite3.Connection, viewer: Viewer, action_id: int,
                  **changes: Any) -> dict[str, Any]:
    """Update an action; a change of indicators is checked and re-themes it."""
    if changes.get("indicators"):
        keys = store.parse_indicators(changes["indicators"])
        unknown = [k for k in keys if k not in BY_KEY]
        if unknown:
            raise HearthError(f"unknown indicator {unknown[0]!r}; choose from "
                              f"{', '.join(REVIEW_KEYS)}")
        changes = {**changes, "indicators": keys, "theme": theme_of(keys)}
    return store.update_action(state_con, viewer, action_id, **changes)


# --- follow-up -------------------------------------------------------------------------------

def _figure(con: duckdb.DuckDBPyConnection, config: Config, group_id: str | None,
            quarter: str, key: str) -> dict[str, Any]:
    rows = con.execute(
        "SELECT * FROM marts.indicators WHERE quarter = ? AND indicator = ? "
        "AND group_id IS NOT DISTINCT FROM ?", [quarter, key, group_id],
    ).df()
    if rows.empty:
        return api.indicator_object({"indicator": key, "n": 0, "status": "insufficient",
                                     "note": "no data this quarter"}, config)
    return api.indicator_object(rows.iloc[0], config)


def _comparable_groups(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection,
                       before: str, after: str, excluded: str | None) -> list[str]:
    flagged = api.flags(con, before)
    flagged = flagged[flagged["flag"] != NOT_A_JUDGEMENT]
    with_actions = store.groups_with_actions(state_con, after)
    return sorted(set(flagged["group_id"]) - with_actions - {excluded})


def _comparison(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection,
                group_id: str | None, key: str, before: str, after: str,
                delta: float | None) -> dict[str, Any]:
    """How much comparable flagged groups without an action changed, and whether the action's
    group's change can be told apart from theirs."""
    if group_id is None:
        return {"groups": 0, "mean_delta": None, "ci_low": None, "ci_high": None, "p": None,
                "verdict": "no comparison",
                "text": "The program has no comparable program without the action: read its "
                        "change knowing that part of it might have happened anyway."}
    others = _comparable_groups(con, state_con, before, after, group_id)
    deltas = np.array([], dtype=float)
    if others:
        pairs = pd.DataFrame({"group_id": others, "indicator": key, "before_quarter": before,
                              "after_quarter": after})
        changed = change_between(con, pairs)
        deltas = changed.loc[changed["both_ok"], "delta"].to_numpy(dtype=float)
    m = int(deltas.size)
    out: dict[str, Any] = {"groups": m, "mean_delta": None, "ci_low": None, "ci_high": None,
                           "p": None}
    if m < 2:
        out["verdict"] = CANT_TELL
        out["text"] = (f"Only {m} comparable flagged group(s) without an action have this figure "
                       f"in both {before} and {after}: too few to say how much groups change "
                       "anyway.")
        return out
    est = mean_interval(deltas)
    out.update(mean_delta=est.value, ci_low=_num(est.ci_low), ci_high=_num(est.ci_high))
    spec = BY_KEY[key]
    theirs = (f"{m} comparable flagged groups without an action changed by "
              f"{_delta_text(key, est.value)} on average ({_delta_text(key, est.ci_low)} to "
              f"{_delta_text(key, est.ci_high)})")
    if delta is None or math.isnan(delta):
        out["verdict"] = CANT_TELL
        out["text"] = theirs + "; this group's change cannot be measured yet."
        return out
    _, p, _ = mann_whitney([delta], deltas)
    out["p"] = _num(p)
    if p < ALPHA:
        better = (delta > np.median(deltas)) == bool(spec.higher_is_better)
        out["verdict"] = "better than comparable groups" if better else \
            "worse than comparable groups"
        out["text"] = theirs + f"; this group changed clearly {'more' if better else 'less'} " \
            "favourably than they did."
    else:
        out["verdict"] = "cannot tell apart"
        out["text"] = theirs + "; the data cannot tell this group's change apart from theirs"
        if 2 / (m + 1) >= ALPHA:  # the smallest p one value's rank among m + 1 can reach
            out["text"] += f" (with {m} groups to compare, no single group's change could be)"
        out["text"] += "."
    return out


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _delta_text(key: str, delta: float) -> str:
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return "?"
    kind = BY_KEY[key].kind
    if kind in ("proportion", "survival"):
        return f"{100 * delta:+.1f} points"
    if key == "host_hhi":
        return f"{delta:+.2f}"
    return f"{delta:+.1f}"


def follow_up(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection, viewer: Viewer,
              config: Config, action_id: int) -> dict[str, Any]:
    """One action's before and after, with honest statistics (see the module docstring).

    {action, indicators: [{indicator, title, before: {quarter, figure}, after: [{quarter,
    figure, delta, p_adjusted, verdict, verdict_text, comparison}]}]}; figures are the
    review's objects. On the warehouse a survey index's change is tested on its answers; on a
    published snapshot (no answers) the test the last refresh published is read instead
    (publish_action_tests), and a pair it does not hold yet reads "tested at the next refresh".
    """
    action = store.get_action(state_con, viewer, action_id)
    before_q = action["quarter"]
    later = [q for q in api.quarters(con) if q > before_q]
    group = action["group_id"]
    keys = [k for k in action["indicators"] if k in BY_KEY]
    pairs = pd.DataFrame([(group, k, before_q, q) for k in keys for q in later],
                         columns=["group_id", "indicator", "before_quarter", "after_quarter"])
    changed = change_between(con, pairs) if len(pairs) else pairs.assign(
        delta=[], p_value=[], both_ok=[], test=[])
    figures = {(k, q): _figure(con, config, group, q, k) for k in keys for q in [before_q, *later]}
    # Released only: a figure the read layer does not show is not compared either.
    shown = np.array([figures[(r.indicator, r.before_quarter)]["status"] == "ok"
                      and figures[(r.indicator, r.after_quarter)]["status"] == "ok"
                      for r in changed.itertuples()], dtype=bool)
    both = changed["both_ok"].to_numpy(dtype=bool) & shown if len(changed) else shown
    raw_p, pending = survey_pvalues(con, changed)
    pending &= both
    # the family is this action's tests; one not yet published stays out of it until then
    p = np.where(both & ~pending, raw_p, np.nan)
    adjusted = benjamini_hochberg(p) if len(p) else p
    delta = np.where(both, changed["delta"].to_numpy(dtype=float), np.nan) if len(changed) \
        else np.array([])
    verdicts = change_verdicts(delta, adjusted, both) if len(p) else []
    out = []
    for key in keys:
        afters = []
        for i, r in enumerate(changed.itertuples()):
            if r.indicator != key:
                continue
            d = _num(delta[i])
            verdict = TESTED_AT_NEXT_REFRESH if pending[i] else str(verdicts[i])
            afters.append({
                "quarter": r.after_quarter, "figure": figures[(key, r.after_quarter)],
                "delta": d, "p_adjusted": _num(adjusted[i]), "verdict": verdict,
                "verdict_text": verdict_words(verdict),
                "comparison": _comparison(con, state_con, group, key, before_q,
                                          r.after_quarter, d),
            })
        out.append({"indicator": key, "title": BY_KEY[key].title,
                    "before": {"quarter": before_q, "figure": figures[(key, before_q)]},
                    "after": afters})
    return {"action": action, "indicators": out}


# --- survey-index tests, published for the pages ---------------------------------------------

#: The marts table of the follow-ups' survey-index tests (publish_action_tests), which the
#: lead's and the coaches' snapshots hold (hearth.warehouse.AUDIENCE_TABLES).
ACTION_TESTS = "action_survey_tests"
ACTION_TESTS_COLUMNS = {"group_id": "VARCHAR", "indicator": "VARCHAR",
                        "before_quarter": "VARCHAR", "after_quarter": "VARCHAR",
                        "p_value": "DOUBLE"}
_PAIR = ["group_id", "indicator", "before_quarter", "after_quarter"]


def _unit(group_id: Any) -> str | None:
    return None if group_id is None or (not isinstance(group_id, str) and pd.isna(group_id)) \
        else str(group_id)


def survey_pvalues(con: duckdb.DuckDBPyConnection, changed: pd.DataFrame
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(p, pending) per row of change_between's result: its p-value, with a survey index's
    taken from the answers on the warehouse and from the published tests on a snapshot;
    `pending` marks survey rows a snapshot has no published test for yet.

    On the warehouse a survey index is tested on the scores its released figures were made
    of (release.score_ledger, read by metrics.change): the ledger holds back late answers
    until k of them have arrived, and a test run on those would tell what the figures do not.
    """
    p = changed["p_value"].to_numpy(dtype=float, copy=True) if len(changed) \
        else np.array([], dtype=float)
    pending = np.zeros(len(changed), dtype=bool)
    if not len(changed):
        return p, pending
    tests = changed["test"].to_numpy(dtype=object)
    untested = np.flatnonzero(tests == NOT_TESTED_HERE)
    if len(untested):
        published = _published_tests(con)
        for i in untested:
            r = changed.iloc[i]
            key = (_unit(r["group_id"]), r["indicator"], r["before_quarter"], r["after_quarter"])
            if key in published:
                p[i] = np.nan if published[key] is None else published[key]
            else:
                pending[i] = True
    return p, pending


def _published_tests(con: duckdb.DuckDBPyConnection) -> dict[tuple, float | None]:
    """The survey-index tests the last refresh published into this snapshot (none in a
    snapshot published before they were)."""
    if not api._has_table(con, "marts", ACTION_TESTS):
        return {}
    rows = con.execute(f"SELECT {', '.join(ACTION_TESTS_COLUMNS)} FROM marts.{ACTION_TESTS}"
                       ).fetchall()
    return {(g, k, b, a): p for g, k, b, a, p in rows}


def action_survey_tests(con: duckdb.DuckDBPyConnection,
                        state_con: sqlite3.Connection | None) -> pd.DataFrame:
    """The survey-index tests of every action's follow-up, run on the warehouse's answers:
    one row per unit x indicator x (quarter decided, later quarter) whose two figures are both
    shown (released, not pooled), with its p-value before adjustment (missing where the
    answers are not all released yet). follow_up on a snapshot reads these."""
    aims = store.aims_of_every_action(state_con) if state_con is not None else []
    quarters = api.quarters(con)
    pairs = sorted({(a["group_id"], key, a["quarter"], q) for a in aims
                    for key in a["indicators"] if key in SURVEY_MEANS
                    for q in quarters if q > a["quarter"]},
                   key=lambda t: (t[0] or "", t[1], t[2], t[3]))
    if not pairs or not has_survey_scores(con):
        return pd.DataFrame({c: pd.Series(dtype=object if t == "VARCHAR" else float)
                             for c, t in ACTION_TESTS_COLUMNS.items()})
    changed = change_between(con, pd.DataFrame(pairs, columns=_PAIR))
    p, _ = survey_pvalues(con, changed)
    keep = changed["both_ok"].to_numpy(dtype=bool) \
        & (changed["test"].to_numpy(dtype=object) == MANN_WHITNEY)
    return changed.loc[keep, _PAIR].assign(p_value=p[keep]).reset_index(drop=True)


def publish_action_tests(con: duckdb.DuckDBPyConnection,
                         state_con: sqlite3.Connection | None) -> int:
    """Rebuild marts.action_survey_tests on the warehouse (after a refresh, before publishing);
    returns its rows. Only the warehouse holds the answers a survey index's change is tested
    on, so the refresh tests every action's survey indices here, and the pages read the
    result from their snapshot: the Actions page and `hearth actions show` give one verdict.
    """
    frame = action_survey_tests(con, state_con)
    columns = ", ".join(f"{c} {t}" for c, t in ACTION_TESTS_COLUMNS.items())
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP TABLE IF EXISTS marts.{ACTION_TESTS}")
        con.execute(f"CREATE TABLE marts.{ACTION_TESTS} ({columns})")
        if len(frame):
            con.register("_action_tests", frame[list(ACTION_TESTS_COLUMNS)])
            try:
                con.execute(f"INSERT INTO marts.{ACTION_TESTS} SELECT * FROM _action_tests")
            finally:
                con.unregister("_action_tests")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(frame)


def follow_up_lines(report: dict[str, Any]) -> list[str]:
    """A follow-up in words, one line per figure and comparison (the CLI prints these; the
    Actions page shows them under each action's table)."""
    lines = []
    for item in report["indicators"]:
        key, before = item["indicator"], item["before"]
        lines.append(f"{item['title']}: {before['quarter']} "
                     f"{format_figure(key, before['figure'], False)} (before)")
        for after in item["after"]:
            lines.append(f"  {after['quarter']} {format_figure(key, after['figure'], False)}: "
                         f"{after['verdict_text']}")
            lines.append(f"    {after['comparison']['text']}")
        if not item["after"]:
            lines.append("  no later quarter yet: the follow-up starts next quarter")
    return lines


def follow_ups(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection, viewer: Viewer,
               config: Config, group_ids: list[str] | None = None,
               quarter: str | None = None) -> list[dict[str, Any]]:
    """follow_up for every action the viewer may read (optionally some groups' or decided in
    one quarter)."""
    found = store.list_actions(state_con, viewer, quarter=quarter, group_ids=group_ids)
    return [follow_up(con, state_con, viewer, config, a["action_id"]) for a in found]


# --- carry-over ------------------------------------------------------------------------------

def carry_over(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection, viewer: Viewer,
               quarter: str) -> dict[str, Any]:
    """What the review of `quarter` carries over from earlier quarters: open actions by the
    quarter they were decided in ("3 actions open from 2026Q2") and last quarter's flags, each
    with whether the group is still flagged."""
    counted = store.open_from_earlier(state_con, viewer, quarter)
    sentences = [f"{n} action{'s' if n != 1 else ''} open from {q}" for q, n in counted.items()]
    available = api.quarters(con)
    earlier = [q for q in available if q < quarter]
    flags_then: list[dict[str, Any]] = []
    if earlier:
        prev = earlier[-1]
        # (one query: frames of both quarters' flags, evidence and all, cost the review and
        # the actions page ~100 ms at 10,000 groups, and this runs on every rerun)
        for group_id, flag, still in api.flags_carried(con, prev, quarter):
            if flag == NOT_A_JUDGEMENT:
                continue
            flags_then.append({"quarter": prev, "group_id": group_id, "flag": flag,
                               "still_flagged": still})
    return {"quarter": quarter, "open_actions": counted, "sentences": sentences,
            "flags": flags_then}
