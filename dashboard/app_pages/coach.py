"""Coach: which groups are struggling, why, and who is drifting away?

The only page with member-level information (members showing withdrawal signals); it is
registered for the coach audience only, shows a coach only the groups they coach, and checks the
audience again before showing members (queries checks the group against the viewer's own).
"""

from __future__ import annotations

import streamlit as st

from dashboard import charts, cycle, frame, queries, ui
from dashboard.labels import is_index
from hearth.access import whom_to_ask
from metrics.anonymity import SUPPRESSED_LABEL
from metrics.definitions import chance_sentence, state_words

FLAG_TITLES = {
    "declining_attendance": "Attendance is declining",
    "below_expected_attendance": "Attendance below the program's",
    "low_safety": "Low psychological safety",
    "low_belonging": "Low belonging",
    "single_host": "One person hosts every session",
    "shrinking": "The group is shrinking",
    "newcomers_not_returning": "Newcomers are not coming back",
    "withdrawal_cluster": "Several members are drifting away",
    "cant_tell_yet": "Too little data to judge",
}

SIGNAL_TITLES = {
    "stopped_coming": "Stopped coming",
    "no_contact_30_days": "No contact for 30 days",
}

ctx = frame.context()
k = ctx.config.min_responses

ui.filtered_page_header(
    ctx, "Struggling groups",
    "Groups flagged this quarter, each flag with its reason and the evidence behind it. "
    "A flag is a prompt for a conversation, not a verdict.")
snap, quarter = ctx.snap, ctx.quarter
within = ctx.member_groups  # a coach's own groups (None: every group, for the lead)
group_ids = queries.own_groups(ctx.group_ids, within)
if within is not None and not within:
    st.info("No group lists you as its coach yet, so there is nothing to show here. Ask "
            f"{whom_to_ask(ctx.config.access)} to check the coach of your groups.",
            icon=":material/group_off:")
    st.stop()
if not group_ids and group_ids is not None:
    ui.nothing_selected()
    st.stop()

flags = queries.flags(snap, quarter, group_ids)
if "state" not in flags:  # (a snapshot published before flags had a lifecycle)
    flags = flags.assign(since=quarter, state="new", quarters=1)
flags = flags.assign(flag_title=flags["flag"].map(lambda f: FLAG_TITLES.get(f, str(f))),
                     evidence_text=flags["evidence"].map(queries.evidence_text),
                     since_text=[state_words(s, f, int(n)) for s, f, n in zip(
                         flags["state"], flags["since"], flags["quarters"], strict=True)]) \
    if not flags.empty else flags.assign(since_text=None)
resolved = flags[flags["state"] == "resolved"] if not flags.empty else flags
flags = flags[flags["state"] != "resolved"] if not flags.empty else flags
concern = flags[flags["flag"] != "cant_tell_yet"] if not flags.empty else flags

if concern.empty:
    st.success("No group is flagged this quarter.", icon=":material/check:")
else:
    flagged = concern["group_id"].nunique()
    st.markdown(f"**{flagged}** group{'s' if flagged != 1 else ''} flagged this quarter.")
    ui.table(
        concern[["group_name", "coach", "flag_title", "since_text", "reason"]],
        "each flag raised this quarter: the group, its coach, what was flagged and why. The "
        "figures behind each flag are in the group drill-down below and in the CSV.",
        key="flags",
        column_config={
            "group_name": st.column_config.TextColumn("Group", width="medium"),
            "coach": st.column_config.TextColumn("Coach", width="small"),
            "flag_title": st.column_config.TextColumn("Flag", width="medium"),
            "since_text": st.column_config.TextColumn("Since", width="medium"),
            "reason": st.column_config.TextColumn("Why", width="large"),
        },
        download=concern.drop(columns=["evidence_text"]),
    )
if not resolved.empty:
    st.text("Resolved this quarter (raised last quarter, not now): " + "; ".join(
        f"{r.group_name or r.group_id}: {r.flag_title.lower()}"
        for r in resolved.itertuples()) + ".")
st.caption(chance_sentence(len(queries.groups(snap))))
unsure = flags[flags["flag"] == "cant_tell_yet"] if not flags.empty else flags
if not unsure.empty:
    st.text(f"{unsure['group_id'].nunique()} group(s) have too little data this quarter to "
               "judge either way: " + ", ".join(sorted(unsure["group_name"].dropna().astype(str)))
               + ".")

# --- Drill-down -----------------------------------------------------------------------------------
st.divider()
st.subheader("Group drill-down")
all_groups = queries.groups(snap)
if group_ids is not None:
    all_groups = all_groups[all_groups["group_id"].isin(group_ids)]
flagged_ids = set(concern.get("group_id", []))
flagged_first = list(dict.fromkeys(
    [*concern.get("group_id", []), *all_groups["group_id"].astype(str)]))
names = queries.group_names(snap)
if st.session_state.get("drilldown_group") not in flagged_first:
    st.session_state["drilldown_group"] = flagged_first[0] if flagged_first else None
group = st.selectbox(
    "Group", flagged_first, key="drilldown_group",
    format_func=lambda g: f"{names.get(g, g)}{'  ⚑' if g in flagged_ids else ''}",
    help="Flagged groups come first (⚑).",
)
if group is None:
    st.stop()

info = all_groups[all_groups["group_id"] == group].iloc[0]
facts = [f"{str(info.get('modality', '')).replace('_', ' ')}", f"language {info.get('language')}",
         f"{info.get('time_zone')}", f"coach {info.get('coach') or 'not set'}"]
if "size" in info:
    facts.append(f"{int(info['size'])} members now")
st.text(" · ".join(str(f) for f in facts))

group_flags = concern[concern["group_id"] == group] if not concern.empty else concern
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
        ui.chart(charts.session_attendance(sessions), sessions,
                 "for every session, how many roster members were expected (grey) and how many "
                 "attended (orange). Excused absences are not expected.",
                 key="drill_attendance")
with right:
    if not sessions.empty:
        hosts = sessions[["session_date", "host_name"]]
        ui.chart(charts.host_rotation(sessions), hosts,
                 "who hosted each session over time. A rotating host shows as many rows; one "
                 "long row means one person carries the group.", key="drill_hosts")

survey = queries.group_indicators(snap, None, (group,))
if not survey.empty:
    survey = survey[survey["indicator"].map(is_index) & (survey["quarter"] <= quarter)]
if survey.empty:
    st.info("No survey indices for this group.")
else:
    ui.chart(charts.survey_quarters(survey, k), survey,
             "the group's belonging, psychological safety and peer-support indices each quarter "
             f"with 95% intervals. Quarters with {SUPPRESSED_LABEL(k)} are named, not drawn.",
             key="drill_survey")

said = queries.comments(snap, quarter, group)
if not said.empty:
    st.subheader("What this group's members said")
    ui.table(said[["comment"]], "anonymous comments from this group's survey this quarter, "
             f"shown because at least {ctx.config.min_comments} members responded.",
             key="drill_comments", column_config={"comment": "Comment"})

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
