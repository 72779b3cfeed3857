"""Compare groups (advisory council, also lead and coach): how do groups compare, fairly?

Aggregates only: no member appears on this page. Survey cells below the anonymity threshold are
marked in words, and ranking uses shrunken estimates with intervals, never a raw league table.

At 200 or 2,000 groups the page leads with concern: the groups that need attention (flagged,
outside the funnel limits on the bad side, a clear fall) come first, a page at a time; roll-ups
by coach, modality, language, time-zone band and cohort open the groups inside them; the group
picked with "Find a group" opens at the top and is marked in every chart.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, comments, frame, profiling, queries, ui
from dashboard.labels import (
    HEATMAP_INDICATORS,
    MAX_GROUPS_SHOWN,
    indicator_title,
    is_survey,
    lower_is_better,
    markdown_plain,
)
from metrics.anonymity import SUPPRESSED_LABEL
from metrics.presentation import CANT_TELL, figure_words

ctx = frame.context()
k = ctx.config.min_responses
state = st.session_state
# Set by a pick inside a fragment that changes the whole page (a group opened, the filters
# narrowed): the fragment then reruns the app rather than only itself.
WHOLE_PAGE = "compare_rerun_page"
state.pop(WHOLE_PAGE, None)  # this is a whole-page run already

ui.filtered_page_header(
    ctx, "Compare groups",
    "Comparisons are context, not targets: small groups vary a lot by chance, so look at the "
    "intervals and the funnel limits before reading anything into a difference.")
snap, quarter, group_ids = ctx.snap, ctx.quarter, ctx.group_ids
scope = frame.filters_text(ctx)
names = queries.group_names(snap)
focus = state.get("focus_group")
with profiling.section("compare", "attention data"):
    attention = queries.attention(snap, quarter, group_ids)
PAGE_SIZE = MAX_GROUPS_SHOWN          # groups per page of the heatmap
ALL_READABLE = 60                      # up to this many, every group is drawn at once
TABLE_HEIGHT = 388                     # about 10 rows: a table scrolls inside, the page doesn't


def open_group(table_key: str, frame_: pd.DataFrame) -> None:
    """A table row picked: open that group (it becomes the "Find a group" pick)."""
    picked = state[f"table_{table_key}"].selection.rows
    if picked:
        state["focus_group"] = str(frame_["group_id"].iat[picked[0]])
        state[WHOLE_PAGE] = True


def close_group() -> None:
    state["focus_group"] = None


def whole_page_if_asked() -> None:
    """First thing in a fragment: a pick made in it that concerns the whole page (the group
    opened at the top, the sidebar's filters) reruns the whole page instead."""
    if state.pop(WHOLE_PAGE, False):
        st.rerun()


# --- The group opened with "Find a group" (or a row of a table) -----------------------------------
@profiling.timed("compare")
def opened_group() -> None:
    with st.container(border=True):
        left, right = st.columns([5, 1])
        left.subheader(f"▶ {markdown_plain(names.get(focus, focus))}")
        right.button("Close", key="close_group", on_click=close_group, icon=":material/close:")
        mine = attention[attention["group_id"] == focus]
        if mine.empty:
            st.caption("This group is outside the sidebar filters; its figures are shown "
                       "without them.")
        reasons = mine["why"].iat[0] if not mine.empty else ""
        st.markdown("**Why it needs attention**" if reasons else
                    "Nothing stands out for this group this quarter: no flag, no figure "
                    "outside the funnel limits, no clear fall.")
        if reasons:
            st.text("\n".join(f"• {r}" for r in reasons.split("; ")))  # group names: plain text
        own = queries.group_indicators(snap, quarter, (focus,), tuple(HEATMAP_INDICATORS))
        if not own.empty:
            own = own.assign(
                Indicator=own["indicator"].map(indicator_title),
                Figure=[figure_words(i, v, s, k, p) for i, v, s, p in zip(
                    own["indicator"], own["value"], own["status"],
                    own["pooled"].fillna(False), strict=True)],
                Change=own["verdict"].fillna(CANT_TELL).astype(str))
            ui.table(own[["Indicator", "Figure", "Change"]],
                     "this group's figures this quarter, and whether each changed clearly since "
                     "the quarter before.", key="focus_group_figures",
                     download=own[["group_name", "indicator", "value", "n", "ci_low", "ci_high",
                                   "status", "verdict"]], scope=scope)


# --- Needs attention --------------------------------------------------------------------------
@profiling.timed("compare")
def needs_attention() -> None:
    st.subheader("Needs attention first")
    concern = attention[attention["concern"] > 0].reset_index(drop=True)
    if concern.empty:
        st.markdown("No group is flagged, outside the funnel limits on the bad side, or clearly "
                    "falling this quarter.")
        return
    st.caption(f"{len(concern):,} of {len(attention):,} groups: flagged first, then outside "
               "the funnel limits (99.8% before 95%), then the largest clear fall. Pick a row "
               "to open the group.")
    shown = concern.rename(columns={
        "group_name": "Group", "flags": "Flags", "outside_998": "Outside 99.8%",
        "outside_95": "Outside 95%", "clear_falls": "Clear falls", "why": "Why"})
    ui.table(shown[["Group", "Flags", "Outside 99.8%", "Outside 95%", "Clear falls", "Why"]],
             "the groups with something to look at, most pressing first; the Why column names "
             "each flag, limit and fall. Click a column to sort.",
             key="attention", height=min(TABLE_HEIGHT, 38 + 35 * len(shown)),
             column_config={"Why": st.column_config.TextColumn("Why", width="large")},
             download=concern, scope=scope, on_select=lambda: open_group("attention", concern),
             selection_mode="single-row")


# --- Heatmap ------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def heatmap_cells(snap: queries.Snapshot, quarter: str, page_ids: tuple[str, ...],
                  k: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    """One page of the heatmap: its values and their words (groups × indicators, by group_id,
    in ``page_ids`` order) and the rows drawn, for the download; None when no group of the
    page has indicators. Cached: the pivots cost more than the figure on a loaded machine."""
    rows = queries.group_indicators(snap, quarter, page_ids, tuple(HEATMAP_INDICATORS))
    if rows.empty:
        return None
    rows = rows.assign(label=[
        figure_words(i, v, st_, k, pooled)
        for i, v, st_, pooled in zip(rows["indicator"], rows["value"], rows["status"],
                                     rows["pooled"].fillna(False), strict=True)])
    present = [i for i in HEATMAP_INDICATORS if i in set(rows["indicator"])]
    values = rows.pivot_table(index="group_id", columns="indicator", values="value",
                              aggfunc="first", dropna=False).reindex(columns=present)
    labels = rows.pivot_table(index="group_id", columns="indicator", values="label",
                              aggfunc="first").reindex(index=values.index, columns=present)
    order = [g for g in page_ids if g in values.index]
    download = rows[["group_name", "indicator", "value", "n", "ci_low", "ci_high", "status",
                     "label"]].rename(columns={"label": "shown_as"})
    return values.reindex(order), labels.reindex(order), download


@st.fragment
@profiling.timed("compare")
def heatmap() -> None:
    """A fragment: another order or another page of groups redraws only the heatmap."""
    st.subheader("Groups at a glance")
    order_choices = ["attention", "name", *HEATMAP_INDICATORS]
    order_by = st.selectbox(
        "Order groups by", order_choices, key="compare_order",
        format_func=lambda o: {"attention": "What needs attention", "name": "Name"}.get(
            o, f"{indicator_title(o)} (worst first)"))
    if order_by == "attention":
        ordered = list(attention["group_id"])
    elif order_by == "name":
        ordered = sorted(attention["group_id"],
                         key=lambda g: queries.natural_key(names.get(g, g)))
    else:
        values_of = queries.group_indicators(snap, quarter, tuple(attention["group_id"]),
                                             (order_by,))
        # a plain dict: a Series lookup per group costs seconds at 2,000 groups
        values_of = dict(zip(values_of["group_id"].tolist(), values_of["value"].tolist(),
                             strict=True))
        worst_first = -1 if lower_is_better(order_by) else 1
        ordered = sorted(attention["group_id"], key=lambda g: (
            pd.isna(values_of.get(g)), worst_first * float(values_of.get(g, 0) or 0)
            if not pd.isna(values_of.get(g)) else 0, queries.natural_key(names.get(g, g))))

    total = len(ordered)
    signature = (order_by, quarter, group_ids)
    if state.get("compare_page_of") != signature:  # new order or filters: back to page one
        state["compare_page_of"], state["compare_page"] = signature, 0
    paged = total > ALL_READABLE
    last_page = max(0, (total - 1) // PAGE_SIZE)
    at = min(int(state.get("compare_page") or 0), last_page) if paged else 0
    page_ids = ordered[at * PAGE_SIZE:(at + 1) * PAGE_SIZE] if paged else ordered

    def turn(step: int) -> None:
        state["compare_page"] = max(0, min(last_page, int(state.get("compare_page") or 0)
                                           + step))

    cells = heatmap_cells(snap, quarter, tuple(page_ids), k) if page_ids else None
    if cells is None:
        st.info("No group has indicators for this quarter.")
        return
    values, labels, download = cells
    order = list(values.index)
    # Rows by group_id (names need not be unique), shown by name.
    shown_as = {g: names.get(g, g) for g in page_ids}
    values, labels = values.rename(index=shown_as), labels.rename(index=shown_as)
    need = attention.set_index("group_id")
    marks = {shown_as[g]: ("⚑" if need.at[g, "flags"] else "")
             + ("◆" if need.at[g, "outside_998"] or need.at[g, "outside_95"] else "")
             for g in order}
    medians = queries.group_medians(snap, quarter).set_index("indicator")
    fig = ui.figure("heatmap", values, labels.fillna("no data"), k, medians,
                    highlight=shown_as.get(focus), marks=marks)
    if paged:
        st.caption(f"Groups {at * PAGE_SIZE + 1:,}–{at * PAGE_SIZE + len(page_ids):,} of "
                   f"{total:,}. ⚑ flagged · ◆ outside the funnel limits.")
    ui.chart(fig, download,
             "each group's figure this quarter, coloured by how far it sits from the median "
             "group (blue better, red worse, for every indicator). Cells with too few survey "
             f"responses say \"{SUPPRESSED_LABEL(k)}\" and are left uncoloured. "
             "⚑ flagged, ◆ outside the funnel limits.",
             key="compare_heatmap", scope=scope)
    if paged:
        back, ahead, _ = st.columns([1, 1, 4])
        back.button(f"Previous {PAGE_SIZE}", key="compare_previous", on_click=turn, args=(-1,),
                    disabled=at == 0, icon=":material/chevron_left:")
        ahead.button(f"Next {PAGE_SIZE}", key="compare_next", on_click=turn, args=(1,),
                     disabled=at >= last_page, icon=":material/chevron_right:")


# --- Funnel plots, ranking and roll-ups: one indicator, one fragment -----------------------------
@profiling.timed("compare")
def funnel_plots() -> str | None:
    """The funnel plot of the indicator picked, and the groups outside its limits; returns the
    indicator (None when there is none to compare)."""
    st.subheader("Funnel plots: which differences are more than chance?")
    available = queries.comparable_indicators(snap, quarter)
    if not available:
        st.info("No funnel plots for this quarter.")
        return None
    order = [i for i in HEATMAP_INDICATORS if i in available] + \
            [i for i in available if i not in HEATMAP_INDICATORS]
    chosen = st.selectbox("Indicator", order, key="compare_indicator",
                          format_func=indicator_title)
    points = queries.funnel_points(snap, quarter, chosen, group_ids)
    if points.empty:
        st.info("No group in the selection has a figure for this indicator.")
        return chosen
    ui.chart(ui.figure("funnel_plot", points, chosen, names, highlight=focus),
             points.assign(group_name=points["group_id"].map(names)),
             "each dot is a group: its figure against its size. Inside the dashed lines (95%) "
             "a difference from the program average is what chance alone produces; outside the "
             "dotted lines (99.8%) it is very unlikely to be chance."
             + (" The ringed dot is the group you opened." if focus else ""),
             key=f"funnel_{chosen}", scope=scope)
    side = points["outside"].fillna("within").astype(str)
    outside = points[~side.str.startswith("within")].copy()
    if outside.empty:
        st.markdown("Every group sits within the limits: no difference stands out from "
                    "chance variation.")
        return chosen
    bad = "above" if lower_is_better(chosen) else "below"
    where = outside["outside"].astype(str)
    outside = outside.assign(
        Group=outside["group_id"].map(names),
        Figure=[charts.format_value(chosen, v) for v in outside["value"]],
        Size=outside["n"],
        Limit=[f"{w.split()[0]} the {w.split()[1]} limit" for w in where],
        Reading=["worse than chance" if w.startswith(bad) else "better than chance"
                 for w in where],
        _side=[0 if w.startswith(bad) else 1 for w in where],
        _level=[0 if w.endswith("99.8%") else 1 for w in where],
    )
    # worse side first, 99.8% before 95%, then the most extreme figure first
    outside = outside.sort_values(
        ["_side", "_level", "value"],
        ascending=[True, True, not lower_is_better(chosen)])
    outside = outside.reset_index(drop=True)
    st.markdown(f"**Groups outside the limits** ({len(outside):,} of {len(points):,}); "
                "pick a row to open the group.")
    ui.table(outside[["Group", "Figure", "Size", "Limit", "Reading"]],
             "the groups whose figure is unlikely to be chance alone, worse side first "
             "and 99.8% before 95%. Click a column to sort.",
             key=f"outside_{chosen}", height=min(TABLE_HEIGHT, 38 + 35 * len(outside)),
             download=outside[["group_id", "Group", "value", "n", "outside"]],
             scope=scope, selection_mode="single-row",
             on_select=lambda: open_group(f"outside_{chosen}", outside))
    return chosen


# --- Ranking with shrinkage -----------------------------------------------------------------------
@profiling.timed("compare")
def ranking(chosen: str) -> None:
    st.subheader("Ranking, with its uncertainty")
    ranked = queries.shrunken(snap, quarter, chosen, group_ids)
    if ranked.empty:
        st.info("No estimates for this indicator.")
        return
    ranked = ranked.sort_values(["estimate", "group_id"]).reset_index(drop=True)
    ranked = ranked.assign(position=range(1, len(ranked) + 1))
    if len(ranked) > MAX_GROUPS_SHOWN:
        half = MAX_GROUPS_SHOWN // 2
        keep = (ranked["position"] <= half) | (ranked["position"] > len(ranked) - half) \
            | (ranked["group_id"].astype(str) == str(focus))
        st.caption(f"The {half} lowest and {half} highest of {len(ranked):,} groups"
                   + (", and the group you opened" if focus in set(ranked["group_id"])
                      else "") + "; the grey bands say how many are not drawn.")
        ranked = ranked[keep]
    ui.chart(ui.figure("shrunken_ranking", ranked, chosen, names, highlight=focus),
             ranked.assign(group_name=ranked["group_id"].map(names)),
             "each group's estimate pulled towards the program average in proportion to how "
             "little data it has (small groups move most), with its 95% interval. Groups "
             "whose intervals overlap cannot be put in order.",
             key=f"ranking_{chosen}", scope=scope)
    if is_survey(chosen):
        st.caption(f"Groups with {SUPPRESSED_LABEL(k)} are left out.")


# --- Roll-ups -----------------------------------------------------------------------------------
ROLLUPS = {"coach": "Coach", "modality": "Modality", "language": "Language",
           "tz_band": "Time-zone band", "cohort": "Cohort"}


def narrow_to(ids: list[str]) -> None:
    """"Filter every page to these groups": the sidebar's group filter, on the whole page."""
    state["filter_group"] = list(ids)
    state[WHOLE_PAGE] = True


@profiling.timed("compare")
def rollups(indicator: str) -> None:
    st.subheader("Roll up, then drill down")
    dimension = st.segmented_control("Roll up by", list(ROLLUPS), key="rollup_dimension",
                                     format_func=ROLLUPS.get, required=True, default="coach")
    rolled = queries.rollup(snap, quarter, ctx.config, dimension, group_ids)
    if rolled.empty:
        st.info("No groups to roll up.")
        return
    part = rolled[rolled["indicator"] == indicator].reset_index(drop=True)
    # Plain sets and lists: a pandas lookup per category costs seconds at 358 coaches.
    concerning = set(attention.loc[attention["concern"] > 0, "group_id"].astype(str))
    part = part.assign(attention=[sum(str(g) in concerning for g in ids)
                                  for ids in part["group_ids"]])
    keys = [(-needing / max(1, groups), queries.natural_key(category))
            for needing, groups, category in zip(part["attention"].tolist(),
                                                 part["groups"].tolist(),
                                                 part["category"].tolist(), strict=True)]
    part = part.iloc[sorted(range(len(part)), key=keys.__getitem__)].reset_index(drop=True)
    figure = [figure_words(indicator, v, s, k) for v, s in
              zip(part["value"], part["status"], strict=True)]
    shown = pd.DataFrame({
        ROLLUPS[dimension]: part["category"].str.replace("_", " "),
        "Groups": part["groups"], "Needing attention": part["attention"],
        indicator_title(indicator): figure, "n": part["n"]})
    st.caption(f"{indicator_title(indicator)} (the funnel plot's indicator) for each "
               f"{ROLLUPS[dimension].lower()}, most groups needing attention first. Pick a row "
               "to see the groups inside it.")
    event = ui.table(
        shown, f"{indicator_title(indicator).lower()} pooled over each "
        f"{ROLLUPS[dimension].lower()}'s groups. A survey figure pools only groups whose own "
        "figure is shown, and only when enough responses lie both inside and outside it.",
        key=f"rollup_{dimension}", height=min(TABLE_HEIGHT, 38 + 35 * len(shown)),
        download=part.drop(columns=["group_ids"]), scope=scope, on_select="rerun",
        selection_mode="single-row")
    picked = event.selection.rows if event is not None else []
    if not picked:
        return
    row = part.iloc[picked[0]]
    inside = attention[attention["group_id"].isin(row["group_ids"])].reset_index(drop=True)
    st.markdown(f"**{markdown_plain(row['category'])}: {len(inside):,} groups**, most "
                "pressing first; pick one to open it.")
    ui.table(inside[["group_name", "why"]].rename(columns={"group_name": "Group",
                                                           "why": "Why"}),
             "the groups inside this row of the roll-up, in the order they need attention.",
             key=f"rollup_groups_{dimension}", height=min(TABLE_HEIGHT, 38 + 35 * len(inside)),
             column_config={"Why": st.column_config.TextColumn("Why", width="large")},
             download=inside, scope=scope, selection_mode="single-row",
             on_select=lambda: open_group(f"rollup_groups_{dimension}", inside))
    st.button("Filter every page to these groups", key="rollup_filter",
              on_click=narrow_to, args=(list(row["group_ids"]),),
              icon=":material/filter_alt:")


@st.fragment
def by_indicator() -> None:
    """A fragment: the funnel plot's indicator, a roll-up dimension or a roll-up row picked
    reruns only this part (the roll-ups follow the funnel plot's indicator). Opening a group
    or narrowing the filters from here reruns the whole page."""
    whole_page_if_asked()
    chosen = funnel_plots()
    if chosen is not None:
        ranking(chosen)
    rollups(chosen or HEATMAP_INDICATORS[0])


if focus is not None:
    opened_group()
needs_attention()
heatmap()
by_indicator()

# --- Comments (dashboard/comments.py: grouped, searchable, paged, filtered where allowed) ----------
with profiling.section("compare", "comments"):
    comments.show(ctx, group_ids, key="compare")
