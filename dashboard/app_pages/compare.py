"""Compare groups (advisory council, also lead and coach): how do groups compare, fairly?

Aggregates only: no member appears on this page. Survey cells below the anonymity threshold are
marked in words, and ranking uses shrunken estimates with intervals, never a raw league table.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, comments, frame, queries, ui
from dashboard.labels import HEATMAP_INDICATORS, MAX_GROUPS_SHOWN, indicator_title, is_survey
from metrics.anonymity import SUPPRESSED_LABEL
from metrics.presentation import figure_words

ctx = frame.context()
k = ctx.config.min_responses

ui.filtered_page_header(
    ctx, "Compare groups",
    "Comparisons are context, not targets: small groups vary a lot by chance, so look at the "
    "intervals and the funnel limits before reading anything into a difference.")
snap, quarter, group_ids = ctx.snap, ctx.quarter, ctx.group_ids

names = queries.group_names(snap)

# --- Heatmap ------------------------------------------------------------------------------------
st.subheader("Groups at a glance")
rows, selected = queries.heatmap_rows(snap, quarter, group_ids, tuple(HEATMAP_INDICATORS),
                                     MAX_GROUPS_SHOWN)
if rows.empty:
    st.info("No group has indicators for this quarter.")
else:
    if selected > MAX_GROUPS_SHOWN:
        st.info(f"{selected:,} groups match; the heatmap shows the first {MAX_GROUPS_SHOWN} by "
                "name. Use the filters in the sidebar to narrow it down.")

    rows = rows.assign(label=[
        figure_words(i, v, st_, k, pooled)
        for i, v, st_, pooled in zip(rows["indicator"], rows["value"], rows["status"],
                                     rows["pooled"].fillna(False), strict=True)])
    # Rows by group_id (names need not be unique), shown by name.
    shown_as = queries.display_names(rows[["group_id", "group_name"]].drop_duplicates())
    present = [i for i in HEATMAP_INDICATORS if i in set(rows["indicator"])]
    values = rows.pivot_table(index="group_id", columns="indicator", values="value",
                              aggfunc="first", dropna=False).reindex(columns=present)
    labels = rows.pivot_table(index="group_id", columns="indicator", values="label",
                              aggfunc="first").reindex(index=values.index, columns=present)
    order = sorted(values.index, key=lambda g: shown_as[g].lower())
    values = values.reindex(order).rename(index=shown_as)
    labels = labels.reindex(order).rename(index=shown_as)
    medians = queries.group_medians(snap, quarter).set_index("indicator")
    fig = charts.heatmap(values, labels.fillna("no data"), k, medians)
    download = rows[["group_name", "indicator", "value", "n", "ci_low", "ci_high", "status",
                     "label"]].rename(columns={"label": "shown_as"})
    ui.chart(fig, download,
             "each group's figure this quarter, coloured by how far it sits from the median "
             "group (blue better, red worse, for every indicator). Cells with too few survey "
             f"responses say \"{SUPPRESSED_LABEL(k)}\" and are left uncoloured.",
             key="compare_heatmap")

# --- Funnel plots ---------------------------------------------------------------------------------
st.subheader("Funnel plots: which differences are more than chance?")
available = queries.comparable_indicators(snap, quarter)
if not available:
    st.info("No funnel plots for this quarter.")
else:
    order = [i for i in HEATMAP_INDICATORS if i in available] + \
            [i for i in available if i not in HEATMAP_INDICATORS]
    chosen = st.selectbox("Indicator", order, key="compare_indicator",
                          format_func=indicator_title)
    points = queries.funnel_points(snap, quarter, chosen, group_ids)
    if points.empty:
        st.info("No group in the selection has a figure for this indicator.")
    else:
        ui.chart(charts.funnel_plot(points, chosen, names),
                 points.assign(group_name=points["group_id"].map(names)),
                 "each dot is a group: its figure against its size. Inside the dashed lines (95%) "
                 "a difference from the program average is what chance alone produces; outside the "
                 "dotted lines (99.8%) it is very unlikely to be chance.",
                 key=f"funnel_{chosen}")
        outside = points[~points["outside"].fillna("within").astype(str).str.startswith("within")]
        if outside.empty:
            st.markdown("Every group sits within the limits: no difference stands out from "
                        "chance variation.")
        else:
            lines = [f"- {names.get(str(r.group_id), r.group_id)}: {r.outside} limit"
                     for r in outside.itertuples()]
            st.markdown("Groups outside the limits:")
            st.text("\n".join(lines))  # group names are data: plain text

    # --- Ranking with shrinkage -----------------------------------------------------------------
    st.subheader("Ranking, with its uncertainty")
    ranked = queries.shrunken(snap, quarter, chosen, group_ids)
    if ranked.empty:
        st.info("No estimates for this indicator.")
    else:
        if len(ranked) > MAX_GROUPS_SHOWN:
            st.caption(f"Showing the {MAX_GROUPS_SHOWN // 2} highest and lowest of "
                       f"{len(ranked)} groups.")
            ranked = ranked.sort_values("estimate")
            ranked = pd.concat([ranked.head(MAX_GROUPS_SHOWN // 2),
                                ranked.tail(MAX_GROUPS_SHOWN // 2)])
        ui.chart(charts.shrunken_ranking(ranked, chosen, names),
                 ranked.assign(group_name=ranked["group_id"].map(names)),
                 "each group's estimate pulled towards the program average in proportion to how "
                 "little data it has (small groups move most), with its 95% interval. Groups "
                 "whose intervals overlap cannot be put in order.",
                 key=f"ranking_{chosen}")
        if is_survey(chosen):
            st.caption(f"Groups with {SUPPRESSED_LABEL(k)} are left out.")

# --- Comments (dashboard/comments.py: grouped, searchable, paged, filtered where allowed) ----------
comments.show(ctx, group_ids, key="compare")
