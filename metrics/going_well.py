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
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from hearth import actions as store
from hearth.access import Viewer
from hearth.calendar import previous_quarter
from hearth.config import Config
from metrics import api
from metrics.definitions import BY_KEY, SURVEY_KEYS
from metrics.presentation import CANT_TELL, comment_key
from metrics.release import COMMENTS

#: The update's figures: what members recognise, in this order.
UPDATE_KEYS = ("active_members", "attendance_rate", "belonging", "psychological_safety",
               "peer_support", "loneliness_share", "willingness_to_lead", "hosting_breadth")
MAX_QUOTES = 3


def _good(key: str, verdict: str) -> bool:
    better = BY_KEY[key].higher_is_better
    return better is not None and verdict == ("up" if better else "down")


def _released(con: duckdb.DuckDBPyConnection, quarter: str, config: Config,
              group_ids: list[str] | None, strong: set[tuple[str, str]]) -> pd.DataFrame:
    """The figures a recognition can rest on, as the read layer shows them: rows whose change
    verdict moved at all (a clear improvement needs one), and the sustained-strength candidates
    (`strong`). Every other row can recognise nothing; at 10,000 groups building a figure for
    each of them was most of the review page's data time."""
    rows = api.indicators(con, quarter, verdicts=("up", "down"))
    candidates = api.indicators(con, quarter, group_ids=sorted({g for g, _ in strong})) \
        if strong else None
    return _figures(rows, candidates, config, group_ids, strong)


def _figures(rows: pd.DataFrame, candidates: pd.DataFrame | None, config: Config,
             group_ids: list[str] | None, strong: set[tuple[str, str]]) -> pd.DataFrame:
    """_released's figures from one quarter's moved rows and its strong candidates' rows
    (any other rows of those groups among them are left out)."""
    if strong:
        wanted = [pair in strong for pair in zip(candidates["group_id"],
                                                  candidates["indicator"], strict=True)]
        rows = pd.concat([rows, candidates[wanted]], ignore_index=True)
        rows = rows.drop_duplicates(["group_id", "indicator"], ignore_index=True)
    if group_ids is not None:  # the program's rows always; the groups' only those asked for
        rows = rows[rows["group_id"].isna() | rows["group_id"].isin(list(group_ids))]
    records = []
    for r in rows.to_dict("records"):
        obj = api.indicator_object(r, config)
        records.append({"group_id": None if pd.isna(r["group_id"]) else r["group_id"],
                        "indicator": r["indicator"], "figure": obj})
    # object columns: a string column would turn the program's None into NaN, and the
    # program's own improvement would then be listed as a group's
    return pd.DataFrame(records, columns=["group_id", "indicator", "figure"], dtype=object)


GOING_WELL_FIELDS = ("group_id", "name", "indicator", "title", "reason", "text")


def going_well(con: duckdb.DuckDBPyConnection, quarter: str | None, config: Config,
               group_ids: list[str] | None = None) -> dict[str, Any]:
    """{quarter, groups: [{group_id, name, indicator, title, reason, text}], program: [...]}

    From the snapshot's pages.going_well when it holds the quarter (written at publish by
    metrics.pagedata from going_well_computed for the whole program): a selection keeps the
    program's items and its own groups' ones, exactly what going_well_computed finds for it,
    since every recognition is a single group's. At 10,000 groups computing it cost the
    review's first view ~100 ms."""
    q = api.resolve_quarter(con, quarter)
    if not (api.page_table(con, "going_well", config) and con.execute(
            "SELECT 1 FROM pages.built WHERE list_contains(quarters, ?)", [q]).fetchone()):
        return going_well_computed(con, q, config, group_ids)
    where, params = ("", []) if group_ids is None else (
        " AND (section = 'program' OR group_id IN (SELECT unnest(?::VARCHAR[])))",
        [[str(g) for g in group_ids]])
    found: dict[str, Any] = {"quarter": q, "groups": [], "program": []}
    for section, *values in con.execute(
            "SELECT section, " + ", ".join(GOING_WELL_FIELDS) + " FROM pages.going_well "
            "WHERE quarter = ?" + where + " ORDER BY position", [q, *params]).fetchall():
        item = dict(zip(GOING_WELL_FIELDS, values, strict=True))
        if section == "program":
            del item["name"]
        found[section].append(item)
    return found


def going_well_computed(con: duckdb.DuckDBPyConnection, quarter: str | None, config: Config,
                        group_ids: list[str] | None = None) -> dict[str, Any]:
    """going_well, computed from the marts."""
    q = api.resolve_quarter(con, quarter)
    strong = _strong(con, (q, previous_quarter(q)))
    released = _released(con, q, config, group_ids, strong)
    found = _recognitions(q, strong, released, group_ids)
    names = api.group_names_of(con, sorted({g["group_id"] for g in found["groups"]}))
    return _named(found, names)


def going_wells_computed(con: duckdb.DuckDBPyConnection, quarters: Sequence[str],
                         config: Config) -> dict[str, dict[str, Any]]:
    """going_well_computed of several quarters for the whole program, {quarter: its
    recognitions}, each the same as going_well_computed finds for it alone, from one query of
    each kind for all of them (metrics.pagedata writes every quarter's at publish: about
    eight small queries per quarter, each milliseconds even on a tiny snapshot)."""
    quarters = list(quarters)
    api._require_marts(con)
    available = set(api._quarters(con))
    # a quarter listed as it is: itself (any other goes through resolve_quarter's checks)
    resolved = [q if q in available else api.resolve_quarter(con, q) for q in quarters]
    strong_of = _strong_by_quarter(con, resolved)
    moved = api.indicators(con, quarters=resolved, verdicts=("up", "down"))
    candidates = api.indicators(
        con, quarters=resolved,
        group_ids=sorted({g for q in resolved for g, _ in strong_of[q]})) \
        if any(strong_of.values()) else None
    found = {}
    for q in resolved:
        strong = strong_of[q]
        released = _figures(moved[moved["quarter"] == q],
                            candidates[candidates["quarter"] == q] if strong else None,
                            config, None, strong)
        found[q] = _recognitions(q, strong, released, None)
    names = api.group_names_of(con, sorted({g["group_id"] for f in found.values()
                                            for g in f["groups"]}))
    return {q: _named(f, names) for q, f in found.items()}


def _recognitions(q: str, strong: set[tuple[str, str]], released: pd.DataFrame,
                  group_ids: list[str] | None) -> dict[str, Any]:
    """going_well_computed's items of quarter q from its figures, the groups' not yet named."""
    groups, program = [], []
    # pandas holds the program's missing group id as NaN (not None) once a frame mixes them
    is_program = released["group_id"].isna().to_numpy(dtype=bool)
    for r, program_row in zip(released.itertuples(), is_program, strict=True):
        fig = r.figure
        if fig["status"] != "ok" or not _good(r.indicator, fig["change"]["verdict"]):
            continue
        item = {"group_id": None if program_row else r.group_id, "indicator": r.indicator,
                "title": BY_KEY[r.indicator].title, "reason": "clear improvement",
                "text": f"{BY_KEY[r.indicator].title} {_moved(r.indicator, fig)} since "
                        f"{previous_quarter(q)}"}
        if program_row:
            program.append(item)
        else:
            groups.append({**item, "name": None})
    shown = {(r.group_id, r.indicator) for r, program_row in
             zip(released.itertuples(), is_program, strict=True)
             if not program_row and r.figure["status"] == "ok"}
    for gid, key in sorted(strong):
        if (gid, key) not in shown or (group_ids is not None and gid not in group_ids):
            continue
        side = "above" if BY_KEY[key].higher_is_better else "below"
        groups.append({"group_id": gid, "name": None, "indicator": key,
                       "title": BY_KEY[key].title, "reason": "sustained strength",
                       "text": f"{BY_KEY[key].title} clearly {side} the program's, "
                               f"{previous_quarter(q)} and {q} (shrunken estimates)"})
    return {"quarter": q, "groups": groups, "program": program}


def _named(found: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    """The recognitions with their groups' names, the groups in order."""
    for g in found["groups"]:
        g["name"] = names.get(g["group_id"])
    found["groups"].sort(key=lambda g: (g["group_id"], g["reason"], g["indicator"]))
    return found


def _strong(con: duckdb.DuckDBPyConnection, quarters: Sequence[str]) -> set[tuple[str, str]]:
    """(group, indicator) whose shrunken interval lies wholly on the good side of the program's
    figure in every one of `quarters` (_strong_in_each's, kept where they meet)."""
    each = _strong_in_each(con, quarters)
    found = [each.get(q, set()) for q in set(quarters)]
    return set.intersection(*found) if found else set()


def _strong_by_quarter(con: duckdb.DuckDBPyConnection, quarters: Sequence[str]
                       ) -> dict[str, set[tuple[str, str]]]:
    """_strong(con, (q, previous_quarter(q))) of each quarter q, from one query: a pair is
    strong in both quarters exactly when it is strong in each."""
    each = _strong_in_each(con, [x for q in quarters for x in (q, previous_quarter(q))])
    return {q: each.get(q, set()) & each.get(previous_quarter(q), set()) for q in quarters}


def _strong_in_each(con: duckdb.DuckDBPyConnection, quarters: Sequence[str]
                    ) -> dict[str, set[tuple[str, str]]]:
    """Per quarter, the (group, indicator) whose shrunken interval lies wholly on the good side
    of the program's figure, for every indicator and quarter in one query (the review page
    draws this). DuckDB keeps only those rows: at 10,000 groups a quarter has ~150,000
    shrunken estimates."""
    wanted = sorted(set(quarters))
    higher = [k for k, spec in BY_KEY.items() if spec.higher_is_better is True]
    lower = [k for k, spec in BY_KEY.items() if spec.higher_is_better is False]
    each: dict[str, set[tuple[str, str]]] = {}
    for quarter, gid, key in con.execute(
        "SELECT DISTINCT s.quarter, s.group_id, s.indicator "
        "FROM marts.shrunken s JOIN marts.indicators p ON p.quarter = s.quarter "
        "AND p.indicator = s.indicator AND p.group_id IS NULL AND p.status = 'ok' "
        "WHERE s.quarter IN (SELECT unnest(?::VARCHAR[])) AND p.value IS NOT NULL "
        "AND ((s.indicator IN (SELECT unnest(?::VARCHAR[])) AND s.ci_low > p.value "
        "      AND s.ci_high IS NOT NULL) "
        "  OR (s.indicator IN (SELECT unnest(?::VARCHAR[])) AND s.ci_high < p.value "
        "      AND s.ci_low IS NOT NULL))",
        [wanted, higher, lower],
    ).fetchall():
        each.setdefault(quarter, set()).add((gid, key))
    return each


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
        return f"{CANT_TELL}: too little data"
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
    # a comment written twice ("Thanks!" and "thanks") is quoted once, as a page lists it once
    seen: set[str] = set()
    quotes = []
    for text in texts:
        key = comment_key(text)
        if key in seen:
            continue
        seen.add(key)
        quotes.append(text[:280])
        if len(quotes) == MAX_QUOTES:
            break
    return quotes


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
    recognised = going_well(con, q, config)["groups"]
    quotes = _quotes(con, q, config)
    return {"program": config.program_name, "quarter": q, "figures": figures,
            "progress": [p["text"] for p in progress],
            "groups_recognised": len({g["group_id"] for g in recognised}),
            "doing": doing, "quotes": quotes, "k": config.min_responses,
            "cites": _cited(q, figures, program, recognised, quotes)}


def _cited(quarter: str, figures: list[dict[str, Any]], program: dict[str, dict[str, Any]],
           recognised: list[dict[str, Any]], quotes: list[str]) -> list[dict[str, str]]:
    """The released survey figures and comment lists the update is made of, named as
    release.figures names them, for `hearth privacy-check` (metrics.audit.unreleased_citations):
    each program figure it prints (and last quarter's, when it prints the change), each
    recognised group's figure in both quarters the recognition rests on, and the program's
    comment list when it quotes one."""
    before = previous_quarter(quarter)
    cited: list[tuple[str, str, str]] = []
    for item in figures:
        key = item["indicator"]
        fig = program.get(key)
        if key not in SURVEY_KEYS or fig is None or fig["status"] != "ok":
            continue
        cited.append((quarter, key, "program"))
        if item["change"] is not None:
            cited.append((before, key, "program"))
    for g in recognised:
        if g["indicator"] in SURVEY_KEYS:
            cited += [(q, g["indicator"], f"group:{g['group_id']}") for q in (quarter, before)]
    if quotes:
        cited.append((quarter, COMMENTS, "program"))
    return [{"quarter": q, "indicator": i, "figure": f} for q, i, f in dict.fromkeys(cited)]


# The update is read with the council's rights: counts only.
_COUNCIL = Viewer(email=None, name="community update", role="council")
