"""Action plans: what the review decided, who owns it, and every change to it since.

An action is decided at a quarterly review, on a flag (a group's flag that quarter), on a group,
or on the program as a whole. It names what will be done, an owner, a due date, a status
(planned, doing, done, dropped), the indicators it aims to move and notes. The quarter it was
decided in is its "before"; metrics.followup reads each later quarter as an "after".

Who may do what is decided here, from the Viewer, not by the pages that call it:
- a **lead** creates, edits and reads every action;
- a **coach** creates, edits and reads the actions on the groups they coach, and reads the
  program's actions (they name no member); the actions on other coaches' groups do not exist
  for them (asking for one by id says "no action N", not "not yours");
- the **council** reads only the summary (counts by status and theme: no text, owner or group);
- someone signed in without a role reads nothing.

Every write is one transaction in the state store, recorded field by field in action_history
and as one event in the audit log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from hearth.access import Viewer
from hearth.calendar import parse_quarter
from hearth.errors import HearthError
from hearth.state import _now, record

STATUSES = ("planned", "doing", "done", "dropped")
OPEN_STATUSES = ("planned", "doing")
SCOPES = ("flag", "group", "program")
EDITABLE = ("what", "owner", "due_on", "status", "indicators", "theme", "notes")
MAX_TEXT = 2000  # an action is a decision, not a document


class NotAllowed(HearthError):
    """The viewer's role does not let them do this (the message says who can)."""


def may_act_on(viewer: Viewer, group_id: str | None) -> bool:
    """May this viewer create, edit and read actions on `group_id` (None: the program)?"""
    if viewer.role == "lead":
        return True
    if viewer.role != "coach" or group_id is None:
        return False
    if viewer.groups is None:  # local mode's coach view: one person who coaches every group
        return viewer.local
    return group_id in viewer.groups


def may_read(viewer: Viewer, group_id: str | None) -> bool:
    """Program-wide actions name no member: every lead and coach reads them."""
    if group_id is None:
        return viewer.role in ("lead", "coach")
    return may_act_on(viewer, group_id)


def _require_reader(viewer: Viewer) -> None:
    if viewer.role == "council":
        raise NotAllowed("the council reads the summary of actions (counts by status and "
                         "theme), not the actions themselves")
    if viewer.role not in ("lead", "coach"):
        raise NotAllowed("only a lead or a coach reads actions; ask the program lead for a role")


def _text(value: Any, field: str, required: bool = True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise HearthError(f"an action needs {field}; say it in a few words")
    if len(text) > MAX_TEXT:
        raise HearthError(f"{field} is {len(text)} characters long; keep it under {MAX_TEXT}")
    return text


def _due(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise HearthError(f"due date {value!r} is not a date; write it like 2026-09-30") from None


def _status(value: Any) -> str:
    status = str(value).strip().lower()
    if status not in STATUSES:
        raise HearthError(f"status {value!r} is not one of {', '.join(STATUSES)}")
    return status


def parse_indicators(value: Iterable[str] | str | None) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",")]
    keys = list(dict.fromkeys(str(v).strip() for v in value or () if str(v).strip()))
    if not keys:
        raise HearthError("an action needs at least one indicator it aims to move "
                          "(e.g. attendance_rate, psychological_safety)")
    return keys


def _quarter(value: str) -> str:
    try:
        year, q = parse_quarter(value)
    except ValueError as exc:
        raise HearthError(str(exc)) from None
    return f"{year}Q{q}"


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["indicators"] = json.loads(out["indicators"])
    return out


def _history_value(field: str, value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value) if field == "indicators" else str(value)


def add_action(
    con: sqlite3.Connection, viewer: Viewer, *, quarter: str, what: str, indicators: Sequence[str],
    theme: str, group_id: str | None = None, flag: str | None = None, owner: str | None = None,
    due_on: str | None = None, status: str = "planned", notes: str = "",
) -> dict[str, Any]:
    """Record a new action and return it. The caller (metrics.followup.plan_action) has checked
    the group, flag and indicators against the warehouse; this checks who may write it."""
    if not may_act_on(viewer, group_id):
        if viewer.role == "coach" and group_id is not None:
            raise NotAllowed(f"group {group_id} is not one of the groups you coach; ask its "
                             "coach or the program lead")
        if viewer.role == "coach":
            raise NotAllowed("program-wide actions are the program lead's; add the action to "
                             "one of your groups instead")
        raise NotAllowed("only a lead or a group's coach adds actions")
    if flag is not None and group_id is None:
        raise HearthError("an action on a flag names the flagged group too")
    scope = "program" if group_id is None else ("flag" if flag else "group")
    fields = {
        "quarter": _quarter(quarter), "scope": scope, "group_id": group_id, "flag": flag or None,
        "what": _text(what, "what will be done"),
        "owner": _text(owner, "an owner", required=False) or viewer.actor,
        "due_on": _due(due_on), "status": _status(status),
        "indicators": parse_indicators(indicators), "theme": _text(theme, "a theme"),
        "notes": _text(notes, "notes", required=False),
    }
    now, actor = _now(), viewer.actor
    with con:
        cur = con.execute(
            "INSERT INTO actions (quarter, scope, group_id, flag, what, owner, due_on, status, "
            "indicators, theme, notes, created_at, created_by, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [fields["quarter"], scope, group_id, fields["flag"], fields["what"], fields["owner"],
             fields["due_on"], fields["status"], json.dumps(fields["indicators"]),
             fields["theme"], fields["notes"], now, actor, now, actor],
        )
        action_id = int(cur.lastrowid)
        con.executemany(
            "INSERT INTO action_history (action_id, at, actor, field, old_value, new_value) "
            "VALUES (?, ?, ?, ?, NULL, ?)",
            [(action_id, now, actor, field, _history_value(field, value))
             for field, value in fields.items() if value not in (None, "")],
        )
    # The audit log names what happened, not the free text (which may name people).
    record(con, actor, "action.add", f"action {action_id}", quarter=fields["quarter"],
           scope=scope, group_id=group_id, flag=fields["flag"], status=fields["status"])
    return get_action(con, viewer, action_id)


def get_action(con: sqlite3.Connection, viewer: Viewer, action_id: int) -> dict[str, Any]:
    """One action as a dict; an action the viewer may not read is reported as not found."""
    _require_reader(viewer)
    row = con.execute("SELECT * FROM actions WHERE action_id = ?", [int(action_id)]).fetchone()
    if row is None or not may_read(viewer, row["group_id"]):
        raise HearthError(f"no action {action_id}; `hearth actions list` shows the ones you "
                          "can see")
    return _decode(row)


def update_action(con: sqlite3.Connection, viewer: Viewer, action_id: int,
                  **changes: Any) -> dict[str, Any]:
    """Change some of an action's fields (EDITABLE); records each change in its history."""
    current = get_action(con, viewer, action_id)
    if not may_act_on(viewer, current["group_id"]):
        raise NotAllowed(f"action {action_id} is on the whole program; only the program lead "
                         "changes it")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise HearthError(f"cannot change {', '.join(sorted(unknown))} of an action; "
                          f"these can change: {', '.join(EDITABLE)}")
    clean = {
        "what": lambda v: _text(v, "what will be done"),
        "owner": lambda v: _text(v, "an owner"),
        "due_on": _due, "status": _status, "indicators": parse_indicators,
        "theme": lambda v: _text(v, "a theme"),
        "notes": lambda v: _text(v, "notes", required=False),
    }
    new = {field: clean[field](value) for field, value in changes.items()}
    changed = {f: v for f, v in new.items() if v != current[f]}
    if not changed:
        return current
    now, actor = _now(), viewer.actor
    with con:
        sets = ", ".join(f"{field} = ?" for field in changed)
        con.execute(
            f"UPDATE actions SET {sets}, updated_at = ?, updated_by = ? WHERE action_id = ?",
            [json.dumps(v) if f == "indicators" else v for f, v in changed.items()]
            + [now, actor, int(action_id)],
        )
        con.executemany(
            "INSERT INTO action_history (action_id, at, actor, field, old_value, new_value) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(int(action_id), now, actor, f, _history_value(f, current[f]), _history_value(f, v))
             for f, v in changed.items()],
        )
    record(con, actor, "action.update", f"action {action_id}", fields=sorted(changed),
           status=changed.get("status"))
    return get_action(con, viewer, action_id)


def history(con: sqlite3.Connection, viewer: Viewer, action_id: int) -> list[dict[str, Any]]:
    """Every change to an action, oldest first: at, actor, field, old_value, new_value."""
    get_action(con, viewer, action_id)  # the same rule as reading the action itself
    rows = con.execute(
        "SELECT at, actor, field, old_value, new_value FROM action_history WHERE action_id = ? "
        "ORDER BY change_id", [int(action_id)],
    ).fetchall()
    return [dict(r) for r in rows]


def list_actions(
    con: sqlite3.Connection, viewer: Viewer, *, quarter: str | None = None,
    group_ids: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The actions this viewer may read, oldest first; optionally of one quarter, some groups
    (program-wide actions are kept only when no groups are asked for) or some statuses."""
    _require_reader(viewer)
    sql, params = "SELECT * FROM actions WHERE true", []
    if quarter is not None:
        sql += " AND quarter = ?"
        params.append(_quarter(quarter))
    if statuses is not None:
        wanted = [_status(s) for s in statuses]
        sql += f" AND status IN ({', '.join('?' * len(wanted))})"
        params.extend(wanted)
    rows = [_decode(r) for r in con.execute(sql + " ORDER BY action_id", params).fetchall()]
    keep = None if group_ids is None else set(group_ids)
    return [r for r in rows if may_read(viewer, r["group_id"])
            and (keep is None or r["group_id"] in keep)]


def summary(con: sqlite3.Connection, viewer: Viewer, quarter: str | None = None,
            up_to: str | None = None) -> dict[str, Any]:
    """Counts of actions by status and by theme (and both), for every role with one: of the
    actions decided in `quarter`, or (`up_to`) in that quarter and before, or all.

    It carries no text, owner or group, so the council may read it; it counts every action,
    including those on groups the viewer does not coach (a count names nobody)."""
    if viewer.role not in ("lead", "coach", "council"):
        raise NotAllowed("only the lead, coaches and the council read actions; ask the program "
                         "lead for a role")
    sql, params = "SELECT theme, status, count(*) AS n FROM actions", []
    if quarter is not None:
        sql += " WHERE quarter = ?"
        params.append(_quarter(quarter))
    elif up_to is not None:
        sql += " WHERE quarter <= ?"
        params.append(_quarter(up_to))
    rows = con.execute(sql + " GROUP BY theme, status ORDER BY theme, status", params).fetchall()
    by_status = dict.fromkeys(STATUSES, 0)
    by_theme: dict[str, int] = {}
    cells = []
    for theme, status, n in rows:
        by_status[status] += n
        by_theme[theme] = by_theme.get(theme, 0) + n
        cells.append({"theme": theme, "status": status, "actions": n})
    return {"quarter": quarter, "up_to": up_to, "total": sum(by_status.values()), "by_status": by_status,
            "by_theme": by_theme, "by_theme_and_status": cells}


def open_from_earlier(con: sqlite3.Connection, viewer: Viewer, quarter: str) -> dict[str, int]:
    """Open actions (planned or doing) decided before `quarter`, counted by the quarter they
    were decided in: {"2026Q2": 3}. The lead and coaches count the ones they may read; the
    council counts all (a count names nobody)."""
    q = _quarter(quarter)
    rows = con.execute(
        "SELECT quarter, group_id FROM actions WHERE quarter < ? AND status IN ('planned', "
        "'doing') ORDER BY quarter", [q],
    ).fetchall()
    counted: dict[str, int] = {}
    for decided, group_id in rows:
        if viewer.role == "council" or may_read(viewer, group_id):
            counted[decided] = counted.get(decided, 0) + 1
    return counted


def groups_with_actions(con: sqlite3.Connection, up_to: str) -> set[str]:
    """Groups with an action (not dropped) decided in or before quarter `up_to`: the groups a
    follow-up must leave out of its comparison with groups that had none."""
    rows = con.execute(
        "SELECT DISTINCT group_id FROM actions WHERE group_id IS NOT NULL AND quarter <= ? "
        "AND status <> 'dropped'", [_quarter(up_to)],
    ).fetchall()
    return {g for (g,) in rows}


def aims_of_every_action(con: sqlite3.Connection) -> list[dict[str, Any]]:
    """Group, quarter decided and indicators of every action, whoever may read it: what the
    refresh tests against the warehouse for the follow-ups (metrics.followup
    .publish_action_tests). No text, owner or notes: what leaves is the tests of released
    figures, and each page still shows an action only to those who may read it."""
    rows = con.execute("SELECT group_id, quarter, indicators FROM actions ORDER BY action_id"
                       ).fetchall()
    return [{"group_id": g, "quarter": q, "indicators": json.loads(i)} for g, q, i in rows]
