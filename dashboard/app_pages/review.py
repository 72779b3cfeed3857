"""Quarterly review (program lead): is the program healthier than last quarter, and where?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cycle, frame, profiling, quarterly, queries, ui
from dashboard.labels import DIMENSIONS, indicator_title, markdown_plain
from hearth.instrument import load_instrument

ctx = frame.context()
k = ctx.config.min_responses

snap, quarter, group_ids = ctx.snap, ctx.quarter, ctx.group_ids
focus = st.session_state.get("focus_group")  # "Find a group": marked in the trends
ready = not ctx.empty and quarter is not None
previous = queries.previous_quarter(snap, quarter) if ready else None
ui.filtered_page_header(
    ctx, "Quarterly review",
    f"{queries.scope_label(snap, group_ids)}. Changes are against "
    f"{previous or 'the previous quarter'}; each figure comes with its uncertainty."
    if ready else "")

scope = frame.filters_text(ctx)
program_scope = f"{quarter} · whole program (the group filters do not apply)"


# --- KPI tiles --------------------------------------------------------------------------------
@profiling.timed("review")
def key_indicators() -> None:
    tiles = quarterly.kpis(queries.scope_indicators(snap, quarter, group_ids, ctx.config), k,
                           previous)
    st.subheader("Key indicators")
    if not tiles:
        st.info("No indicators for this quarter.")
    per_row = 4  # wide enough for "−2 pts · no clear change" without truncation
    for start in range(0, len(tiles), per_row):
        for column, tile in zip(st.columns(per_row), tiles[start:start + per_row],
                                strict=False):
            with column.container(border=True):
                if tile.change is None:  # no change to tell: say so in words, never as a delta
                    st.metric(tile.title, tile.value if tile.has_figure else "—")
                    st.caption(tile.summary)
                else:
                    st.metric(
                        tile.title, tile.value, delta=tile.change,
                        delta_color={"better": "green", "worse": "red"}.get(tile.judgement,
                                                                            "gray"),
                        delta_arrow="off" if tile.judgement == "flat" else "auto",
                        delta_description=tile.note,
                    )


# --- Highlights and warnings ------------------------------------------------------------------
@profiling.timed("review")
def highlights() -> None:
    sentences = quarterly.highlights(queries.movement_counts(snap, quarter, group_ids))
    warnings = quarterly.reliability_sentences(
        queries.reliability_warnings(snap, quarter), load_instrument(ctx.config).titles)
    st.subheader("Highlights")
    if sentences:
        st.markdown("\n".join(f"- {s}" for s in sentences))  # our own sentences, not user text
    else:
        st.markdown("No group moved on any indicator this quarter, or there is no earlier "
                    "quarter to compare with.")
    for text in warnings:
        st.warning(text, icon=":material/warning:")


# --- Trends -----------------------------------------------------------------------------------
@profiling.timed("review")
def trends() -> None:
    st.subheader("Trends over the quarters")
    scope_trends = queries.scope_trends(snap, group_ids, ctx.config, until=quarter)
    names = queries.group_names(snap)
    own = queries.group_indicators(snap, None, (focus,)) if focus in names else None
    if own is not None:
        st.caption(f"The dotted line is {markdown_plain(names[focus])}, the group you opened "
                   "with \"Find a group\".")
    present = [i for i in quarterly.TREND_INDICATORS
               if not scope_trends.empty and i in set(scope_trends["indicator"])]
    for start in range(0, len(present), 2):
        for column, indicator in zip(st.columns(2), present[start:start + 2], strict=False):
            with column:
                part = scope_trends[scope_trends["indicator"] == indicator]
                mine = own[own["indicator"] == indicator] if own is not None else None
                ui.chart(ui.figure("trend", part, indicator, k, group=mine,
                                   group_name=names.get(focus) if focus else None),
                         part if mine is None else pd.concat(
                             [part.assign(scope="selection"),
                              mine[[c for c in part.columns if c in mine]].assign(
                                  scope=names.get(focus))], ignore_index=True),
                         quarterly.trend_caption(indicator), key=f"trend_{indicator}",
                         scope=scope)


# --- Participation ----------------------------------------------------------------------------
@st.fragment
@profiling.timed("review")
def participation() -> None:
    """A fragment: choosing whose funnel to see ("Joined this quarter" or "Everyone") reruns
    only these two charts."""
    st.subheader("Participation and retention")
    if group_ids is not None:
        st.caption("These two charts cover the whole program: the group filters do not apply.")
    left, right = st.columns(2)
    with left:
        cohort = st.segmented_control(
            "Members", ["Joined this quarter", "Everyone"], key="funnel_cohort", required=True,
            label_visibility="collapsed")
        everyone = cohort == "Everyone"
        funnel = queries.participation_funnel(snap, None if everyone else quarter)
        if funnel.empty:
            st.info("No member joined in this quarter." if not everyone else "No members yet.")
        else:
            ui.chart(ui.figure(
                         "participation_funnel", funnel, "Everyone: from joining to hosting"
                         if everyone else f"Members who joined in {quarter}: from joining to "
                         "hosting"),
                     funnel,
                     quarterly.FUNNEL_CAPTION_ALL if everyone else quarterly.FUNNEL_CAPTION,
                     key="participation_funnel", scope=program_scope)
    with right:
        retention = queries.retention_curve(snap)
        if retention.empty:
            st.info("Retention needs memberships followed over time.")
        else:
            ui.chart(ui.figure("retention_curve", retention), retention,
                     quarterly.RETENTION_CAPTION, key="retention_curve", scope=program_scope)


# --- Inclusion --------------------------------------------------------------------------------
@st.fragment
@profiling.timed("review")
def inclusion() -> None:
    """A fragment with lazy tabs: only the open tab's chart is built and sent, and picking an
    indicator or another tab reruns only this section."""
    st.subheader("Inclusion")
    if group_ids is not None:
        st.caption("Inclusion breakdowns cover the whole program; the group filters do not "
                   "apply.")
    breakdowns = queries.inclusion(snap, quarter)
    if breakdowns.empty:
        st.info("No inclusion breakdowns for this quarter.")
        return
    options = [i for i in quarterly.KPI_ORDER if i in set(breakdowns["indicator"])]
    chosen = st.selectbox("Indicator", options, key="inclusion_indicator",
                          format_func=indicator_title)
    tabs = st.tabs([DIMENSIONS[d] for d in DIMENSIONS], key="inclusion_tabs",
                   on_change="rerun")
    for tab, (dimension, title) in zip(tabs, DIMENSIONS.items(), strict=True):
        if not tab.open:
            continue
        with tab:
            part = breakdowns[(breakdowns["dimension"] == dimension)
                              & (breakdowns["indicator"] == chosen)]
            if part.empty:
                st.info(f"No {title.lower()} breakdown for {indicator_title(chosen).lower()}.")
            else:
                ui.chart(ui.figure("inclusion", part, chosen, title, k), part,
                         quarterly.inclusion_caption(chosen, title),
                         key=f"inclusion_{dimension}", scope=program_scope)


# --- The charts: one section at a time, none until asked --------------------------------------
# Drawing is what the reader waits for (Plotly in the browser: a 4.7 MB bundle to load and
# compile, then each chart), so the page opens with no chart at all: the tiles, highlights and
# the review cycle below need no Plotly, and the bundle loads only when a section is picked.
# The picker is a fragment, so another section reruns only itself (the tiles and highlights
# stay as they are); the section picked stays picked for the rest of the browser session.
SECTIONS = {"trends": trends, "participation": participation, "inclusion": inclusion}


@st.fragment
def closer_look() -> None:
    section = st.segmented_control(
        "Look closer", list(SECTIONS), key="review_section",
        format_func=quarterly.SECTION_TITLES.get,
        help="Each section draws its charts when it is picked; the HTML report below holds "
             "them all.")
    if section is None:
        st.caption(quarterly.PICK_A_SECTION)
        return
    SECTIONS[section]()


key_indicators()
highlights()
closer_look()

# --- Shareable report -------------------------------------------------------------------------
st.subheader("Share this review")
st.download_button(
    "Download the quarterly review (HTML)",
    # Built when clicked (plotly.js inline makes it a few MB), then cached per snapshot.
    lambda: queries.review_report(snap, quarter, group_ids, ctx.config).encode("utf-8"),
    file_name=f"hearth-review-{quarter}.html", mime="text/html", key="download_review_html",
    type="primary", icon=":material/download:",
    help="One self-contained file with every chart; it opens offline and can be emailed.",
)

# --- The review as a cycle: carry-over, going well, sign-off (dashboard/cycle.py) --------------
with profiling.section("review", "cycle"):
    cycle.review_sections(ctx)
