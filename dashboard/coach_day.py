"""The coach's day in words and rows: each group's severity (flagged, to watch, fine), why, and
what changed since last quarter. Pure functions over the small frames dashboard.queries returns,
so the page (app_pages/coach.py) only lays them out.

Severity, in the order a coach should read it:
  flagged   at least one flag raised this quarter (new or continuing), other than "too little
            data to judge"
  watch     no flag, but something to keep an eye on: a flag resolved this quarter (it may come
            back), too little data to judge, a clear change for the worse since last quarter, or
            a member drifting away (withdrawal signals: the watchlist). Two or more drifting
            raise the "several members are drifting away" flag (withdrawal_cluster), so a
            group left unflagged with anyone drifting is one to watch before it gets there.
  fine      none of these
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import queries
from dashboard.labels import KPI_ORDER, indicator_title, lower_is_better
from dashboard.quarterly import change_text
from dashboard.queries import natural_key
from metrics.definitions import state_words

SEVERITIES = ("flagged", "watch", "fine")
SEVERITY_TITLES = {"flagged": "Flagged", "watch": "To watch", "fine": "Fine"}

FLAG_TITLES = {
    "declining_attendance": "Attendance is declining",
    "below_expected_attendance": "Attendance below the program's",
    "low_safety": "Low psychological safety",
    "low_belonging": "Low belonging",
    "single_host": "One person hosts every session",
    "shrinking": "The group is shrinking",
    "newcomers_not_returning": "Newcomers are not coming back",
    "withdrawal_cluster": "Several members are drifting away",
    "meeting_less_often": "Meeting less often than planned",
    "belonging_falling": "Belonging has fallen since last quarter",
    "safety_falling": "Psychological safety has fallen since last quarter",
    "loneliness_rising": "More members feel lonely than last quarter",
    "buddy_checkins_stopped": "Buddy check-ins have fallen away",
    "cant_tell_yet": "Too little data to judge",
}

NO_CHANGE = "no clear change"
# Row heights in px: Streamlit wraps a cell's text when rows are taller than 64 px. A flag's
# reason (up to ~190 characters) takes five lines in its column, a watch reason three.
REASON_ROW, WATCH_ROW = 100, 78
HEADER_ROW = 40
ROWS_SHOWN = 7  # rows a table shows before it scrolls: no table outgrows a screen


def table_height(rows: int, row_height: int) -> int:
    """A table's height in px: its rows up to ROWS_SHOWN, then it scrolls."""
    return min(rows, ROWS_SHOWN) * row_height + HEADER_ROW


def flag_title(flag: str) -> str:
    return FLAG_TITLES.get(flag, str(flag).replace("_", " ").capitalize())


def flag_rows(flags: pd.DataFrame) -> pd.DataFrame:
    """Flags (queries.flags: with group_name and coach) with a title, lifecycle words and
    evidence as text; a snapshot published before flags had a lifecycle reads as new."""
    if "state" not in flags:
        flags = flags.assign(since=None, state="new", quarters=1)
    if flags.empty:
        return flags.assign(flag_title=pd.Series(dtype=str), since_text=pd.Series(dtype=str),
                            evidence_text=pd.Series(dtype=str))
    return flags.assign(
        flag_title=flags["flag"].map(flag_title),
        since_text=[state_words(s, f, int(n)) for s, f, n in zip(
            flags["state"], flags["since"], flags["quarters"], strict=True)],
        evidence_text=flags["evidence"].map(queries.evidence_text),
    )


def clear_changes(indicators: pd.DataFrame) -> dict[str, list[tuple[bool, str]]]:
    """Per group, its clear changes since last quarter as (worse, words), worse first:
    ``(True, "Attendance rate: clear fall, -9 pts")``. Only released figures (status ok) whose
    change the test could tell (verdict up or down) count."""
    if indicators.empty:
        return {}
    moved = indicators[(indicators["status"] == "ok") & indicators["verdict"].isin(["up", "down"])
                       & indicators["delta"].notna() & indicators["indicator"].isin(KPI_ORDER)]
    out: dict[str, list[tuple[bool, str]]] = {}
    for row in moved.itertuples():
        rose = row.verdict == "up"
        worse = rose == lower_is_better(row.indicator)
        words = (f"{indicator_title(row.indicator)}: clear {'rise' if rose else 'fall'}, "
                 f"{change_text(row.indicator, float(row.delta))}")
        out.setdefault(str(row.group_id), []).append((worse, words))
    return {g: sorted(items, key=lambda item: (not item[0], item[1])) for g, items in out.items()}


def drifting_words(members: int) -> str:
    """ "1 member drifting away" """
    return f"{members} member{'s' if members != 1 else ''} drifting away (see the group's members)"


def group_days(groups: pd.DataFrame, flags: pd.DataFrame, indicators: pd.DataFrame,
               drifting: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per group: group_id, group_name, coach, severity, flags (titles), why (the
    reasons, or why to watch) and changes (since last quarter, in words), in reading order:
    severity, then coach, then group name (numbers in names read as numbers).

    ``groups``: group_id, name, coach; ``flags``: flag_rows() of this quarter; ``indicators``:
    this quarter's rows of these groups (group_id, indicator, status, delta, verdict);
    ``drifting``: members with withdrawal signals per group (none where not given)."""
    changes = clear_changes(indicators)
    drifting = drifting or {}
    by_group = {str(g): part for g, part in flags.groupby("group_id")} if not flags.empty else {}
    rows = []
    for g in groups.itertuples():
        gid = str(g.group_id)
        part = by_group.get(gid)
        moved = changes.get(gid, [])
        active = part[(part["state"] != "resolved") & (part["flag"] != "cant_tell_yet")] \
            if part is not None else None
        if active is not None and not active.empty:
            severity = "flagged"
            titles = "; ".join(active["flag_title"])
            why = " ".join(str(r) for r in active["reason"])
            since = "; ".join(f"{t}: {s}" for t, s in zip(active["flag_title"],
                                                         active["since_text"], strict=True))
        else:
            watch = []
            if part is not None:
                watch += [f"flag resolved this quarter: {t.lower()}"
                          for t in part.loc[part["state"] == "resolved", "flag_title"]]
                if (part["flag"] == "cant_tell_yet").any():
                    watch.append("too little data this quarter to judge either way")
            watch += [words for worse, words in moved if worse]
            if drifting.get(gid):
                watch.append(drifting_words(int(drifting[gid])))
            severity = "watch" if watch else "fine"
            titles, why, since = "", "; ".join(watch), ""
        change_words = "; ".join(words for _, words in moved) or NO_CHANGE
        rows.append({"group_id": gid, "group_name": g.name, "coach": _text(g.coach),
                     "severity": severity, "flags": titles, "why": why,
                     "since": since, "changes": change_words})
    out = pd.DataFrame(rows, columns=["group_id", "group_name", "coach", "severity", "flags",
                                      "why", "since", "changes"])
    return sort_days(out)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=queries.HASH_FUNCS)
def days(snap: queries.Snapshot, quarter: str, group_ids: tuple[str, ...] | None,
         within: frozenset[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(group_days, flag rows) for the groups given (None: every group) this quarter, read
    through the query layer and cached per snapshot. Members drifting away count only in the
    groups ``within`` the viewer's own (None: every group)."""
    groups = queries.groups(snap)
    if group_ids is not None:
        groups = groups[groups["group_id"].isin(group_ids)]
    flags = flag_rows(queries.flags(snap, quarter, group_ids))
    indicators = queries.group_indicators(snap, quarter, tuple(groups["group_id"].astype(str)))
    return group_days(groups[["group_id", "name", "coach"]], flags, indicators,
                      queries.drifting_members(snap, quarter, within=within)), flags


def sort_days(days: pd.DataFrame) -> pd.DataFrame:
    """Severity first, then coach, then group name, names read naturally."""
    if days.empty:
        return days.reset_index(drop=True)
    # Keys from plain lists: pandas' per-cell access would cost seconds at 2,000 groups.
    keys = [(SEVERITIES.index(s), natural_key(c), natural_key(n), str(g)) for s, c, n, g in zip(
        days["severity"], days["coach"], days["group_name"], days["group_id"], strict=True)]
    order = sorted(range(len(days)), key=keys.__getitem__)
    return days.iloc[order].reset_index(drop=True)


def sort_flags(flags: pd.DataFrame) -> pd.DataFrame:
    """The flags table's order: by coach, then groups with more flags first, then group name,
    then the flag, so one coach's flags and one group's flags sit together."""
    if flags.empty:
        return flags.reset_index(drop=True)
    many = flags.groupby("group_id")["flag"].transform("size")
    keys = [(natural_key(c), -int(m), natural_key(n), str(g), str(t)) for c, m, n, g, t in zip(
        flags["coach"], many, flags["group_name"], flags["group_id"], flags["flag_title"],
        strict=True)]
    order = sorted(range(len(flags)), key=keys.__getitem__)
    return flags.iloc[order].reset_index(drop=True)


def severity_counts(days: pd.DataFrame) -> dict[str, int]:
    counts = days["severity"].value_counts() if not days.empty else {}
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def counts_sentence(counts: dict[str, int]) -> str:
    """ "12 groups: 2 flagged, 3 to watch, 7 fine." """
    total = sum(counts.values())
    return (f"{total:,} group{'s' if total != 1 else ''}: {counts['flagged']:,} flagged, "
            f"{counts['watch']:,} to watch, {counts['fine']:,} fine.")


def coach_options(days: pd.DataFrame) -> dict[str, str]:
    """coach -> its label in the coach picker ("Ana Lima · 3 groups, 1 flagged"), coaches in
    natural order of their names."""
    if days.empty:
        return {}
    out = {}
    for coach, part in sorted(days.groupby("coach"), key=lambda item: natural_key(item[0])):
        if not coach:
            continue
        flagged = int((part["severity"] == "flagged").sum())
        label = f"{coach} · {len(part)} group{'s' if len(part) != 1 else ''}"
        out[str(coach)] = label + (f", {flagged} flagged" if flagged else "")
    return out


def _text(value: object) -> str:
    return "" if value is None or value != value else str(value)  # None or NaN: no coach
