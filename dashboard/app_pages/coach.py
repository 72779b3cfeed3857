"""Coach: which groups are struggling, why, and who is drifting away?

The coach's day: their own groups first, by severity (flagged with the reasons, then to watch,
then fine; dashboard/coach_day.py), with what changed since last quarter; every other group
only as aggregates. Someone who sees every group (local mode) picks whose groups to read with a
searchable coach picker. A row clicked in any of these tables opens that group's drill-down.

The only page with member-level information (members showing withdrawal signals), which it
shows to coaches only: a coach only the groups they coach, checked again before showing
members (queries checks the group against the viewer's own). The lead opens it too, to read any
coach's day with the coach picker, from the lead's own snapshot: it holds no watchlist (member-
level views exist only for a coach's own groups), so the lead reads no member drifting away.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import coach_day, comments, cycle, frame, quarterly, queries, ui
from dashboard.labels import indicator_title, is_index
from hearth.access import whom_to_ask
from metrics.anonymity import SUPPRESSED_LABEL
from metrics.definitions import chance_sentence

SIGNAL_TITLES = {
    "stopped_coming": "Stopped coming",
    "no_contact_30_days": "No contact for 30 days",
}
# Indicators set side by side for "your groups" and the whole program (shares and indices:
# counts of a few groups and of the program are not comparable).
COMPARED = ["attendance_rate", "newcomer_return", "buddy_coverage", "hosting_breadth",
            "belonging", "psychological_safety", "peer_support", "loneliness_share"]
RESOLVED_NAMED = 10  # resolved flags named in one sentence; the rest are in "To watch"

ctx = frame.context()
k = ctx.config.min_responses

ui.filtered_page_header(
    ctx, "Struggling groups",
    "Your groups first, the most worrying on top: flagged, then to watch, then fine, each with "
    "what changed since last quarter. A flag is a prompt for a conversation, not a verdict.")
snap, quarter = ctx.snap, ctx.quarter
within = ctx.member_groups  # a coach's own groups (None: every group, for a lead or local mode)
if ctx.audience == "lead":
    st.caption("Members drifting away are for their coaches only: a group with one member "
               "drifting reads \"to watch\" on its coach's page, and two or more raise a flag "
               "everyone sees here.")
group_ids = queries.own_groups(ctx.group_ids, within)
if within is not None and not within:
    st.info("No group lists you as its coach yet, so there is nothing to show here. Ask "
            f"{whom_to_ask(ctx.config.access)} to check the coach of your groups.",
            icon=":material/group_off:")
    st.stop()
if not group_ids and group_ids is not None:
    ui.nothing_selected()
    st.stop()

days, flags = coach_day.days(snap, quarter, group_ids, within)
names = queries.group_names(snap)


def open_group(group_id: str) -> None:
    """A table row was clicked: its group opens in the drill-down below."""
    st.session_state["drilldown_group"] = group_id


# --- Whose day: the signed-in coach's, or the coach picked by someone who sees every group ------
focus = None
if within is None:
    options = coach_day.coach_options(days)
    if st.session_state.get("coach_focus") not in options:
        st.session_state["coach_focus"] = None
    focus = st.selectbox(
        "Coach", list(options), key="coach_focus", format_func=lambda c: options.get(c, c),
        index=None, placeholder=f"Every coach ({len(options):,}): type a name to find one",
        help="Shows one coach's groups first, the rest of the program as totals.")
mine = days[days["coach"] == focus] if focus else days
rest_counts = None
if within is not None:
    # A coach's other groups: only totals, read from every group's severities (members
    # drifting away counted in the coach's own groups only: coach_day.days).
    everyone, _ = coach_day.days(snap, quarter, None, within)
    rest_counts = coach_day.severity_counts(everyone[~everyone["group_id"].isin(within)])
elif focus:
    rest_counts = coach_day.severity_counts(days[days["coach"] != focus])

st.subheader("Your groups" if within is not None else f"{focus}'s groups" if focus
             else "Every group")
st.markdown(coach_day.counts_sentence(coach_day.severity_counts(mine)))  # our words only
several_coaches = mine["coach"].nunique() > 1
own_flags = flags[flags["group_id"].isin(mine["group_id"])] if not flags.empty else flags
resolved = own_flags[own_flags["state"] == "resolved"] if not own_flags.empty else own_flags
active = own_flags[own_flags["state"] != "resolved"] if not own_flags.empty else own_flags
concern = coach_day.sort_flags(active[active["flag"] != "cant_tell_yet"]) \
    if not active.empty else active

# Flagged: one row per flag, by coach, then group. The full reason and evidence are in the
# drill-down (the detail panel) when a row is clicked.
st.markdown(f"**{coach_day.SEVERITY_TITLES['flagged']}**")
if concern.empty:
    st.success("No group is flagged this quarter.", icon=":material/check:")
else:
    columns = ["coach", "group_name", "flag_title", "since_text", "reason"]
    ui.table(
        concern[columns if several_coaches else columns[1:]],
        "each flag raised this quarter: the group, what was flagged, since when and why. Click "
        "a row to open the group below, with the full reason and the evidence.",
        key="flags",
        column_config={
            "coach": st.column_config.TextColumn("Coach", width=115),
            "group_name": st.column_config.TextColumn("Group", width=145),
            "flag_title": st.column_config.TextColumn("Flag", width=140),
            "since_text": st.column_config.TextColumn("Since", width=105),
            "reason": st.column_config.TextColumn("Why", width=290),
        },
        download=concern.drop(columns=["evidence_text"]),
        on_pick=lambda row: open_group(str(concern["group_id"].iat[row])),
        height=coach_day.table_height(len(concern), coach_day.REASON_ROW),
        row_height=coach_day.REASON_ROW,
    )
if not resolved.empty:
    named = [f"{r.group_name or r.group_id}: {r.flag_title.lower()}"
             for r in resolved.head(RESOLVED_NAMED).itertuples()]
    more = len(resolved) - len(named)
    st.text("Resolved this quarter (raised last quarter, not now): " + "; ".join(named)
            + (f"; and {more} more (under To watch)." if more > 0 else "."))
st.caption(chance_sentence(len(queries.groups(snap))))

# To watch, then fine: one row per group.
for severity, what in (
        ("watch", "groups with no flag but something to keep an eye on: a flag resolved this "
                  "quarter, too little data to judge, or a clear change for the worse."),
        ("fine", "groups with no flag and nothing to watch, with what changed since last "
                 "quarter.")):
    part = mine[mine["severity"] == severity]
    title = f"{coach_day.SEVERITY_TITLES[severity]} ({len(part):,})"
    if part.empty:
        continue
    holder = st.expander(title, expanded=severity == "watch" and len(part) <= 40)
    with holder:
        columns = ["coach", "group_name", "why", "changes"] if several_coaches else \
            ["group_name", "why", "changes"]
        if severity == "fine":
            columns.remove("why")
        ui.table(part[columns], f"{what} Click a row to open the group below.",
                 key=f"days_{severity}",
                 column_config={
                     "coach": st.column_config.TextColumn("Coach", width=115),
                     "group_name": st.column_config.TextColumn("Group", width=145),
                     "why": st.column_config.TextColumn("Why watch", width=280),
                     "changes": st.column_config.TextColumn("Since last quarter", width=230),
                 },
                 on_pick=lambda row, part=part: open_group(str(part["group_id"].iat[row])),
                 height=coach_day.table_height(len(part), coach_day.WATCH_ROW),
                 row_height=coach_day.WATCH_ROW)

# --- Everyone else: totals only -------------------------------------------------------------------
if rest_counts is not None and sum(rest_counts.values()):
    st.subheader("The rest of the program")
    st.markdown("Across the other " + coach_day.counts_sentence(rest_counts))
    own_ids = tuple(mine["group_id"])
    yours = queries.scope_indicators(snap, quarter, own_ids, ctx.config).set_index("indicator")
    program = queries.scope_indicators(snap, quarter, None, ctx.config).set_index("indicator")


    def figure(frame, indicator: str) -> str:
        if indicator not in frame.index:
            return quarterly.CANT_TELL
        row = frame.loc[indicator]
        return quarterly.figure_words(indicator, row.get("value"), row.get("status"), k,
                                      row.get("pooled", False))

    side_by_side = [{"indicator": indicator_title(i), "yours": figure(yours, i),
                     "program": figure(program, i)} for i in COMPARED if i in program.index]
    if side_by_side:
        ui.table(pd.DataFrame(side_by_side),
                 "your groups pooled, beside the whole program, this quarter. Survey figures of "
                 "a few groups are shown only when the anonymity rule allows the pooled figure.",
                 key="yours_vs_program",
                 column_config={"indicator": "Indicator",
                                "yours": "Your groups" if within is not None else
                                f"{focus}'s groups",
                                "program": "Whole program"})

# --- Drill-down -----------------------------------------------------------------------------------
st.divider()
st.subheader("Group drill-down")
all_groups = queries.groups(snap)
if group_ids is not None:
    all_groups = all_groups[all_groups["group_id"].isin(group_ids)]
flagged_ids = set(days.loc[days["severity"] == "flagged", "group_id"])
# The groups in view first, most worrying on top (the order of the tables above), then the rest.
in_order = list(dict.fromkeys([*mine["group_id"], *days["group_id"]]))
if st.session_state.get("drilldown_group") not in in_order:
    st.session_state["drilldown_group"] = in_order[0] if in_order else None
group = st.selectbox(
    "Group", in_order, key="drilldown_group",
    format_func=lambda g: f"{names.get(g, g)}{'  ⚑' if g in flagged_ids else ''}",
    help="Flagged groups come first (⚑), then groups to watch, then the rest. Clicking a row "
         "in the tables above opens its group here.",
)
if group is None:
    st.stop()

info = all_groups[all_groups["group_id"] == group].iloc[0]
facts = [f"{str(info.get('modality', '')).replace('_', ' ')}", f"language {info.get('language')}",
         f"{info.get('time_zone')}", f"coach {info.get('coach') or 'not set'}"]
if "size" in info:
    facts.append(f"{int(info['size'])} members now")
st.text(" · ".join(str(f) for f in facts))

group_flags = active[(active["group_id"] == group) & (active["flag"] != "cant_tell_yet")] \
    if not active.empty else active
for row in group_flags.itertuples():
    with st.container(border=True):
        st.markdown(f"**{row.flag_title}** · {row.since_text}")
        st.text(row.reason)
        if row.evidence_text:
            st.caption("Evidence")
            st.text(row.evidence_text)

sessions = queries.session_attendance(snap, group, within=within)
left, right = st.columns([3, 2])
with left:
    if sessions.empty:
        st.info("No sessions recorded for this group.")
    else:
        ui.chart(ui.figure("session_attendance", sessions), sessions,
                 "for every session, how many roster members were expected (grey) and how many "
                 "attended (orange). Excused absences are not expected.",
                 key="drill_attendance")
with right:
    if not sessions.empty:
        hosts = sessions[["session_date", "host_name"]]
        ui.chart(ui.figure("host_rotation", sessions), hosts,
                 "who hosted each session over time. A rotating host shows as many rows; one "
                 "long row means one person carries the group.", key="drill_hosts")

survey = queries.group_indicators(snap, None, (group,))
if not survey.empty:
    survey = survey[survey["indicator"].map(is_index) & (survey["quarter"] <= quarter)]
if survey.empty:
    st.info("No survey indices for this group.")
else:
    ui.chart(ui.figure("survey_quarters", survey, k), survey,
             "the group's belonging, psychological safety and peer-support indices each quarter "
             f"with 95% intervals. Quarters with {SUPPRESSED_LABEL(k)} are named, not drawn.",
             key="drill_survey")

comments.show(ctx, (group,), key="drill", heading="What this group's members said")

# Member-level: coaches only, even if this page were reached some other way.
if ctx.audience == "coach":
    st.subheader("Members showing withdrawal signals")
    drifting = queries.watchlist(snap, quarter, group, within=within)
    drifting = drifting.assign(
        signal=drifting["signal"].map(lambda v: SIGNAL_TITLES.get(v, str(v).replace("_", " "))))
    if drifting.empty:
        st.success("No member of this group shows a withdrawal signal this quarter.",
                   icon=":material/check:")
    else:
        ui.table(drifting, "members who used to come regularly and have missed several "
                 "sessions in a row, or have had no contact for 30 days. For the coach only: "
                 "reach out personally, never share this list.", key="watchlist",
                 column_config={
                     "member_name": "Member", "signal": "Signal", "reason": "Why",
                     "last_attended": st.column_config.DateColumn("Last attended"),
                     "consecutive_missed": st.column_config.NumberColumn(
                         "Missed in a row", format="%d"),
                 })

# --- This group's actions and their follow-up (dashboard/cycle.py) ---------------------------
cycle.group_actions(ctx, group)

# --- Comments of the groups in view (released lists only; dashboard/comments.py) ---------------
comments.show(ctx, tuple(mine["group_id"]) if (focus or within is not None) else ctx.group_ids,
              key="coach")
