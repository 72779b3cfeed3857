"""The review as a cycle, on screen: actions and their follow-up, sign-off, what is going well.

Sections the pages call (the Actions page, the quarterly review, the coach's drill-down). Who
may see and change what is decided by the library (hearth.actions, from the Viewer); these
sections only choose what to draw. Figures come from metrics.followup / signoff / going_well
on the published snapshot (survey figures through api.indicator_object, the anonymity rule);
what people write goes to the state store beside the warehouse, never to DuckDB.

Free text people typed (what, notes, owner) is shown with st.text / st.dataframe only.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import queries, ui
from dashboard.labels import indicator_title
from hearth import actions as store
from hearth.access import Viewer, local_viewer
from hearth.errors import HearthError
from hearth.state import state
from metrics import followup, going_well, signoff
from metrics.definitions import REVIEW_KEYS
from metrics.presentation import format_figure

STATUS_TITLES = {"planned": "Planned", "doing": "Under way", "done": "Done",
                 "dropped": "Dropped"}
FLASH = "cycle_flash"  # one message carried over the rerun that follows a write


def viewer(ctx) -> Viewer:
    """Who is looking: the signed-in Viewer once sign-in provides it, else local mode's."""
    return getattr(ctx, "viewer", None) or local_viewer(ctx.audience)


def _flash() -> None:
    message = st.session_state.get(FLASH)
    if message:
        st.success(message, icon=":material/check:")
        st.session_state[FLASH] = None


def _written(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


# --- actions -----------------------------------------------------------------------------------

def carry_over_note(ctx, who: Viewer) -> None:
    """"2 actions open from 2026Q2; 3 groups flagged then, 1 still flagged"."""
    with state(ctx.db) as state_con, queries.cursor(ctx.snap) as con:
        carried = followup.carry_over(con, state_con, who, ctx.quarter)
    parts = list(carried["sentences"])
    if carried["flags"]:
        groups = {f["group_id"] for f in carried["flags"]}
        still = {f["group_id"] for f in carried["flags"] if f["still_flagged"]}
        parts.append(f"{len(groups)} group{'s' if len(groups) != 1 else ''} flagged in "
                     f"{carried['flags'][0]['quarter']}, {len(still)} still flagged now")
    if parts:
        st.info("Carried over: " + "; ".join(parts) + ".", icon=":material/history:")


def _actions_frame(found: list[dict], names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{
        "id": a["action_id"], "decided": a["quarter"],
        "on": "Whole program" if a["group_id"] is None else names.get(a["group_id"],
                                                                       a["group_id"]),
        "flag": a["flag"] or "", "what": a["what"], "owner": a["owner"],
        "due": a["due_on"] or "", "status": STATUS_TITLES[a["status"]],
        "aims at": ", ".join(indicator_title(k) for k in a["indicators"]),
        "theme": a["theme"], "notes": a["notes"],
    } for a in found], columns=["id", "decided", "on", "flag", "what", "owner", "due", "status",
                                "aims at", "theme", "notes"])


def _follow_up_frame(report: dict) -> pd.DataFrame:
    rows = []
    for item in report["indicators"]:
        key = item["indicator"]
        rows.append({"indicator": item["title"], "quarter": item["before"]["quarter"],
                     "figure": format_figure(key, item["before"]["figure"], False),
                     "change since the action": "before", "comparable groups": ""})
        for after in item["after"]:
            rows.append({"indicator": item["title"], "quarter": after["quarter"],
                         "figure": format_figure(key, after["figure"], False),
                         "change since the action": after["verdict_text"],
                         "comparable groups": after["comparison"]["text"]})
    return pd.DataFrame(rows, columns=["indicator", "quarter", "figure",
                                       "change since the action", "comparable groups"])


def actions_list(ctx, who: Viewer, group_ids: list[str] | None = None, key: str = "actions"):
    """The actions the viewer may read (of some groups), each with its follow-up."""
    with state(ctx.db) as state_con:
        found = store.list_actions(state_con, who, group_ids=group_ids)
        if not found:
            st.info("No actions yet.", icon=":material/checklist:")
            return []
        names = queries.group_names(ctx.snap)
        ui.table(_actions_frame(found, names),
                 "each action decided at a review: what, who owns it, when it is due and where "
                 "it stands.", key=key)
        with queries.cursor(ctx.snap) as con:
            for action in found:
                report = followup.follow_up(con, state_con, who, ctx.config, action["action_id"])
                where = "the whole program" if action["group_id"] is None else \
                    names.get(action["group_id"], action["group_id"])
                with st.expander(f"Follow-up of #{action['action_id']} ({where}, "
                                 f"{STATUS_TITLES[action['status']].lower()})"):
                    st.text(action["what"])
                    frame = _follow_up_frame(report)
                    ui.table(frame, "the indicator the action aims at, in the quarter it was "
                             "decided (before) and every later quarter, with the change since "
                             "and how much comparable flagged groups without an action changed "
                             "(groups often improve anyway).",
                             key=f"{key}_followup_{action['action_id']}")
                    # The same in words: a table cell cuts the comparison's sentence short.
                    st.text("\n".join(followup.follow_up_lines(report)))
    return found


def add_action_form(ctx, who: Viewer, group_choices: list[str | None], key: str = "add_action",
                    flags: pd.DataFrame | None = None) -> None:
    """A form to add an action; `group_choices` are the groups this viewer may act on (None:
    the whole program, for a lead)."""
    if not group_choices:
        return
    names = queries.group_names(ctx.snap)
    flags = queries.flags(ctx.snap, ctx.quarter) if flags is None else flags
    raised = {(r.group_id, r.flag) for r in flags.itertuples()} if not flags.empty else set()
    with st.form(key, clear_on_submit=True):
        st.markdown(f"**Add an action** (decided in {ctx.quarter})")
        group = st.selectbox("On", group_choices, key=f"{key}_group",
                             format_func=lambda g: "Whole program" if g is None
                             else names.get(g, g))
        flag_options = [None] + sorted({f for _, f in raised if f != "cant_tell_yet"})
        flag = st.selectbox("Answering the flag", flag_options, key=f"{key}_flag",
                            format_func=lambda f: "no flag" if f is None
                            else f.replace("_", " "),
                            help="The group's flag this quarter the action answers, if any.")
        what = st.text_input("What will be done", key=f"{key}_what", max_chars=300)
        indicators = st.multiselect("Indicators it aims to move", list(REVIEW_KEYS),
                                    key=f"{key}_indicators", format_func=indicator_title,
                                    help="Leave empty on a flag to use the flag's indicators.")
        left, right = st.columns(2)
        owner = left.text_input("Owner", value=who.actor if not who.local else "",
                                key=f"{key}_owner", help="Who makes it happen.")
        due = right.date_input("Due", value=None, key=f"{key}_due", min_value=date(2000, 1, 1))
        submitted = st.form_submit_button("Add action", type="primary")
    if submitted:
        try:
            with state(ctx.db) as state_con, queries.cursor(ctx.snap) as con:
                added = followup.plan_action(
                    con, state_con, who, quarter=ctx.quarter, group_id=group, flag=flag,
                    what=what, indicators=indicators or None, owner=owner or None,
                    due_on=due.isoformat() if due else None)
        except HearthError as exc:
            st.error(str(exc))
            return
        _written(f"Action #{added['action_id']} added.")


def update_action_form(ctx, who: Viewer, found: list[dict], key: str = "update_action") -> None:
    editable = [a for a in found if store.may_act_on(who, a["group_id"])]
    if not editable:
        return
    by_id = {a["action_id"]: a for a in editable}
    with st.form(key, clear_on_submit=True):
        st.markdown("**Update an action**")
        chosen = st.selectbox("Action", list(by_id), key=f"{key}_id",
                              format_func=lambda i: f"#{i} {by_id[i]['what'][:60]}")
        status = st.selectbox("Status", list(STATUS_TITLES), key=f"{key}_status",
                              format_func=STATUS_TITLES.get, index=1)
        notes = st.text_area("Notes (replace)", key=f"{key}_notes", max_chars=2000,
                             help="Leave empty to keep the notes as they are.")
        submitted = st.form_submit_button("Save")
    if submitted:
        changes = {"status": status, **({"notes": notes} if notes.strip() else {})}
        try:
            with state(ctx.db) as state_con:
                followup.change_action(state_con, who, chosen, **changes)
        except HearthError as exc:
            st.error(str(exc))
            return
        _written(f"Action #{chosen} saved.")


def summary_sentence(counts: dict) -> str:
    """"3 actions decided so far: 1 planned, 2 under way, 0 done, 0 dropped." (counts only)"""
    total = counts["total"]
    return (f"{total} action{'s' if total != 1 else ''} decided so far: "
            + ", ".join(f"{counts['by_status'][s]} {STATUS_TITLES[s].lower()}"
                        for s in STATUS_TITLES) + ".")


def council_summary(ctx, who: Viewer) -> None:
    """Counts by theme and status: all the council reads of actions."""
    with state(ctx.db) as state_con:
        counts = store.summary(state_con, who)
    if not counts["total"]:
        st.info("No actions have been recorded yet.", icon=":material/checklist:")
        return
    st.text(summary_sentence(counts))
    table = pd.DataFrame(counts["by_theme_and_status"]).pivot_table(
        index="theme", columns="status", values="actions", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=[s for s in STATUS_TITLES if s in table.columns])
    table = table.rename(columns=STATUS_TITLES).reset_index()
    ui.table(table, "how many actions the program has decided, by theme and by where they "
             "stand. Counts only: the actions themselves are for the lead and the coaches.",
             key="actions_summary")


# --- going well and sign-off -------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=queries.HASH_FUNCS)
def _going_well(snap: queries.Snapshot, quarter: str, group_ids, config) -> dict:
    with queries.cursor(snap) as con:
        return going_well.going_well(con, quarter, config,
                                     list(group_ids) if group_ids is not None else None)


def going_well_section(ctx) -> None:
    st.subheader("Going well")
    found = _going_well(ctx.snap, ctx.quarter, ctx.group_ids, ctx.config)
    if found["program"]:
        st.markdown("**The program**")
        st.text("\n".join(f"• {p['text']}" for p in found["program"]))
    if found["groups"]:
        frame = pd.DataFrame([{"group": g["name"] or g["group_id"], "why": g["reason"],
                               "what": g["text"]} for g in found["groups"]])
        ui.table(frame, "groups with a clear improvement since last quarter (the review's "
                 "change test, corrected for the number of groups) or a sustained strength "
                 "(shrunken estimate clearly on the good side of the program's figure two "
                 "quarters running). Never from raw ranks.", key="going_well")
    if not found["program"] and not found["groups"]:
        st.info("Nothing stands out clearly this quarter; with small groups that is common.")


def signoff_section(ctx, who: Viewer) -> None:
    """Sign-off for the lead; what changed since, for everyone who sees the review."""
    st.subheader("Sign-off")
    with state(ctx.db) as state_con, queries.cursor(ctx.snap) as con:
        since = signoff.since_signoff(con, state_con, ctx.config, ctx.quarter)
    if since is None:
        st.caption(f"{ctx.quarter} has not been signed off.")
    else:
        st.text(f"{ctx.quarter} was signed off by {since['signed_by']} at {since['signed_at']}.")
        if since["late_loads"]:
            st.warning("Data for this quarter was loaded after the sign-off: "
                       + ", ".join(f"{f['file_name']} ({f['rows_in_quarter']} rows)"
                                   for f in since["late_loads"]) + ".",
                       icon=":material/update:")
        if since["changes"]:
            ui.table(pd.DataFrame(since["changes"])[["unit", "title", "signed", "now"]],
                     "every figure of this quarter that is no longer what was signed off.",
                     key="since_signoff")
        elif not since["late_loads"]:
            st.caption("Nothing has changed since the sign-off.")
    if who.is_lead and st.button(f"Sign off {ctx.quarter}", key="signoff_button",
                                 help="Keep this quarter's figures exactly as they are now."):
        try:
            with state(ctx.db) as state_con, queries.cursor(ctx.snap) as con:
                signoff.sign_off(con, state_con, who, ctx.config, ctx.quarter)
        except HearthError as exc:
            st.error(str(exc))
            return
        _written(f"{ctx.quarter} signed off.")


# --- what each page shows ----------------------------------------------------------------------

def actions_page(ctx) -> None:
    who = viewer(ctx)
    _flash()
    if who.role == "council":
        st.caption("Counts of the actions the program decided at its reviews.")
        council_summary(ctx, who)
        going_well_section(ctx)
        return
    carry_over_note(ctx, who)
    found = actions_list(ctx, who, group_ids=None if ctx.group_ids is None
                         else list(ctx.group_ids))
    choices = [g for g in queries.groups(ctx.snap)["group_id"].astype(str)
               if store.may_act_on(who, g)]
    if store.may_act_on(who, None):
        choices = [None, *choices]
    left, right = st.columns(2)
    with left:
        add_action_form(ctx, who, choices)
    with right:
        update_action_form(ctx, who, found)


def review_sections(ctx) -> None:
    """Appended to the quarterly review: carry-over, going well, sign-off."""
    who = viewer(ctx)
    _flash()
    st.divider()
    st.subheader("Actions")
    carry_over_note(ctx, who)
    with state(ctx.db) as state_con:
        counts = store.summary(state_con, who, ctx.quarter)
    st.text(f"{counts['total']} action{'s' if counts['total'] != 1 else ''} decided in "
            f"{ctx.quarter}. The Actions page lists them with their follow-up.")
    going_well_section(ctx)
    signoff_section(ctx, who)


def group_actions(ctx, group: str) -> None:
    """Appended to the coach's drill-down: this group's actions and a form to add one."""
    who = viewer(ctx)
    if not store.may_read(who, group):
        return
    _flash()
    st.subheader("Actions for this group")
    found = actions_list(ctx, who, group_ids=[group], key="group_actions")
    if store.may_act_on(who, group):
        left, right = st.columns(2)
        with left:
            add_action_form(ctx, who, [group], key="group_add_action",
                            flags=queries.flags(ctx.snap, ctx.quarter, (group,)))
        with right:
            update_action_form(ctx, who, found, key="group_update_action")
