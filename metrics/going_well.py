"""What is going well: groups to recognise and the program's own progress, honestly.

Recognition comes from the same statistics as the coaching flags, never from raw ranks:
- **clear improvement**: the group's change since the previous quarter has the review's verdict
  in the indicator's good direction (Benjamini-Hochberg across groups, marts.indicators);
- **sustained strength**: the group's empirical-Bayes shrunken estimate (marts.shrunken) has its
  whole 95% interval on the good side of the program's figure, this quarter and the one before.
  Shrinkage pulls small groups towards the program, so a group of six with one lucky quarter is
  not recognised; two quarters running rules out one good quarter.
- **the program's progress**: program-wide indicators whose verdict moved the good way.
Survey figures count only where the read layer shows them (api.indicator_object: released, not
pooled); a recognition never says more than the review already shows.

community_update builds the short aggregate-only update for members (dashboard/community_update
renders it): program figures with plain-language intervals, what changed, what the program is
doing (actions counted by theme and status) and a few comments from the program-wide comments
the read layer releases (at least min_comments responses, scrubbed at ingestion).
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import duckdb
import pandas as pd

from hearth import actions as store
from hearth.access import Viewer
from hearth.calendar import previous_quarter
from hearth.config import Config
from metrics import api
from metrics.definitions import BY_KEY

#: The update's figures: what members recognise, in this order.
UPDATE_KEYS = ("active_members", "attendance_rate", "belonging", "psychological_safety",
               "peer_support", "loneliness_share", "willingness_to_lead", "hosting_breadth")
MAX_QUOTES = 3


def _good(key: str, verdict: str) -> bool:
    better = BY_KEY[key].higher_is_better
    return better is not None and verdict == ("up" if better else "down")


def _released(con: duckdb.DuckDBPyConnection, quarter: str, config: Config,
              group_ids: list[str] | None) -> pd.DataFrame:
    rows = api.indicators(con, quarter)
    if group_ids is not None:  # the program's rows always; the groups' only those asked for
        rows = rows[rows["group_id"].isna() | rows["group_id"].isin(list(group_ids))]
    records = []
    for r in rows.to_dict("records"):
        obj = api.indicator_object(r, config)
        records.append({"group_id": None if pd.isna(r["group_id"]) else r["group_id"],
                        "indicator": r["indicator"], "figure": obj})
    return pd.DataFrame(records, columns=["group_id", "indicator", "figure"])


def going_well(con: duckdb.DuckDBPyConnection, quarter: str | None, config: Config,
               group_ids: list[str] | None = None) -> dict[str, Any]:
    """{quarter, groups: [{group_id, name, indicator, title, reason, text}], program: [...]}"""
    q = api.resolve_quarter(con, quarter)
    released = _released(con, q, config, group_ids)
    names = api.groups(con).set_index("group_id")["name"].to_dict()
    groups, program = [], []
    for r in released.itertuples():
        fig = r.figure
        if fig["status"] != "ok" or not _good(r.indicator, fig["change"]["verdict"]):
            continue
        # (a frame of string ids turns the program's None into NaN: test for both)
        gid = None if pd.isna(r.group_id) else r.group_id
        item = {"group_id": gid, "indicator": r.indicator,
                "title": BY_KEY[r.indicator].title, "reason": "clear improvement",
                "text": f"{BY_KEY[r.indicator].title} {_moved(r.indicator, fig)} since "
                        f"{previous_quarter(q)}"}
        if gid is None:
            program.append(item)
        else:
            groups.append({**item, "name": names.get(gid)})
    shown = {(r.group_id, r.indicator) for r in released.itertuples()
             if not pd.isna(r.group_id) and r.figure["status"] == "ok"}
    strong = _strong(con, q) & _strong(con, previous_quarter(q))
    for gid, key in sorted(strong):
        if (gid, key) not in shown or (group_ids is not None and gid not in group_ids):
            continue
        side = "above" if BY_KEY[key].higher_is_better else "below"
        groups.append({"group_id": gid, "name": names.get(gid), "indicator": key,
                       "title": BY_KEY[key].title, "reason": "sustained strength",
                       "text": f"{BY_KEY[key].title} clearly {side} the program's, "
                               f"{previous_quarter(q)} and {q} (shrunken estimates)"})
    groups.sort(key=lambda g: (g["group_id"], g["reason"], g["indicator"]))
    return {"quarter": q, "groups": groups, "program": program}


def _strong(con: duckdb.DuckDBPyConnection, quarter: str) -> set[tuple[str, str]]:
    """(group, indicator) whose shrunken interval lies wholly on the good side of the program's
    figure in `quarter` (one query for every indicator: the review page draws this)."""
    rows = con.execute(
        "SELECT s.group_id, s.indicator, s.ci_low, s.ci_high, p.value AS program_value "
        "FROM marts.shrunken s JOIN marts.indicators p ON p.quarter = s.quarter "
        "AND p.indicator = s.indicator AND p.group_id IS NULL AND p.status = 'ok' "
        "WHERE s.quarter = ? AND p.value IS NOT NULL", [quarter],
    ).fetchall()
    out = set()
    for gid, key, low, high, level in rows:
        better = BY_KEY[key].higher_is_better if key in BY_KEY else None
        if better is None or low is None or high is None:
            continue
        if (better and low > level) or (not better and high < level):
            out.add((gid, key))
    return out


def _moved(key: str, figure: dict[str, Any]) -> str:
    word = "rose" if figure["change"]["delta"] > 0 else "fell"
    return f"{word} by {plain_delta(key, figure['change']['delta'])}"


# --- words for members -----------------------------------------------------------------------

def plain_delta(key: str, delta: float) -> str:
    kind = BY_KEY[key].kind
    if kind in ("proportion", "survival"):
        return f"{abs(100 * delta):.0f} percentage points"
    if key == "host_hhi":
        return f"{abs(delta):.2f}"
    if kind == "count":
        return f"{abs(delta):.0f}"
    return f"{abs(delta):.0f} points (out of 100)"


def plain_figure(key: str, figure: dict[str, Any]) -> str:
    """A figure in words a member reads: 'about 72 out of 100 (most likely between 68 and 76,
    from 140 answers)'. Hidden or too-thin figures say so instead of a number."""
    if figure["status"] == "suppressed":
        return "not shown: too few answers to keep them anonymous"
    if figure["status"] != "ok" or figure["value"] is None:
        return "can't tell yet: too little data"
    spec = BY_KEY[key]
    value, low, high, n = figure["value"], figure["ci_low"], figure["ci_high"], figure["n"]
    if spec.kind in ("proportion", "survival"):
        text = f"about {100 * value:.0f}%"
        if low is not None and high is not None:
            text += f" (most likely between {100 * low:.0f}% and {100 * high:.0f}%"
    elif spec.kind == "count":
        return f"{value:.0f}"
    else:
        text = f"about {value:.0f} out of 100"
        if low is not None and high is not None:
            text += f" (most likely between {low:.0f} and {high:.0f}"
    if low is not None and high is not None:
        text += f", from {n} {spec.unit})" if n is not None else ")"
    return text


def plain_change(key: str, figure: dict[str, Any]) -> str | None:
    verdict = figure["change"]["verdict"]
    if figure["status"] != "ok":
        return None
    if verdict in ("up", "down"):
        return f"{'up' if verdict == 'up' else 'down'} {plain_delta(key, figure['change']['delta'])}" \
               " since last quarter, a clear change"
    if verdict == "no clear change":
        return "about the same as last quarter (no clear change)"
    return None


def _quotes(con: duckdb.DuckDBPyConnection, quarter: str, config: Config) -> list[str]:
    """Up to MAX_QUOTES program-wide comments, chosen by a stable hash (the same update twice
    quotes the same people's words; no choosing the flattering ones by hand)."""
    texts = [str(c) for c in api.comments(con, quarter, None)["comment"] if str(c).strip()]
    if len(texts) < config.min_comments:
        # The read layer releases comments only from units with enough responses; quoting
        # also needs that many comments, so no quote is one of a handful of comments.
        return []
    texts.sort(key=lambda t: hashlib.sha256(f"{quarter}\0{t}".encode()).hexdigest())
    return [t[:280] for t in texts[:MAX_QUOTES]]


def community_update(con: duckdb.DuckDBPyConnection, state_con: sqlite3.Connection | None,
                     quarter: str | None, config: Config) -> dict[str, Any]:
    """The aggregate-only update for members: no group, member, owner or action text in it."""
    q = api.resolve_quarter(con, quarter)
    program = {r["indicator"]: api.indicator_object(r, config)
               for r in api.program_indicators(con, q).to_dict("records")}
    figures = []
    for key in UPDATE_KEYS:
        fig = program.get(key) or api.indicator_object(
            {"indicator": key, "n": 0, "status": "insufficient"}, config)
        figures.append({"indicator": key, "title": BY_KEY[key].title,
                        "figure": plain_figure(key, fig), "change": plain_change(key, fig)})
    progress = going_well(con, q, config, group_ids=[])["program"]
    doing: dict[str, Any] = {"by_theme": {}, "by_status": {}, "total": 0}
    if state_con is not None:
        counts = store.summary(state_con, _COUNCIL, up_to=q)
        doing = {"by_theme": counts["by_theme"], "by_status": counts["by_status"],
                 "total": counts["total"]}
    recognised = len({g["group_id"] for g in going_well(con, q, config)["groups"]})
    return {"program": config.program_name, "quarter": q, "figures": figures,
            "progress": [p["text"] for p in progress], "groups_recognised": recognised,
            "doing": doing, "quotes": _quotes(con, q, config), "k": config.min_responses}


# The update is read with the council's rights: counts only.
_COUNCIL = Viewer(email=None, name="community update", role="council")
