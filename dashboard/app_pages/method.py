"""Method page: how each indicator is defined, the survey instrument and how reliable it is,
and the anonymity rules every figure obeys."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import frame, queries, ui
from hearth.instrument import load_instrument
from metrics.definitions import ALPHA_WARNING


def demote_headings(markdown: str) -> str:
    """One level down (# -> ##), so the document sits under this page's own title."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


ctx = frame.context()

st.title("Method")
st.caption("How every figure in Hearth is made, and what it can and cannot tell you.")

definitions, instrument_tab, anonymity = st.tabs(
    ["Indicator definitions", "Survey instrument and reliability", "Anonymity rules"],
    key="method_tabs")

with definitions:
    doc = queries.docs_path("metrics.md")
    if doc.exists():
        # The project's own documentation (not user data), so Markdown is the right renderer.
        st.markdown(demote_headings(doc.read_text(encoding="utf-8")))
    else:
        st.info("The indicator definitions (docs/metrics.md) are not installed with this copy "
                "of Hearth.")

with instrument_tab:
    instrument = load_instrument(ctx.config)
    st.subheader(instrument.name)
    st.markdown(
        "Survey indices run from 0 to 100: the mean item score after reverse-keying, rescaled "
        "as (mean − scale minimum) ÷ (maximum − minimum) × 100. Reverse-keyed items are named "
        "in the instrument, never inferred from their position."
    )
    items = pd.DataFrame(
        [{"construct": instrument.titles.get(i.construct, i.construct), "item": i.item_id,
          "text": i.text, "scale": f"{i.scale_min}–{i.scale_max}",
          "reverse_keyed": i.reverse_keyed} for i in instrument.items]
    )
    ui.table(items, "every survey item, the construct it measures, its answer scale and "
             "whether it is reverse-keyed (agreeing means less of the construct).",
             key="instrument_items",
             column_config={"construct": "Construct", "item": "Item", "text": "Question",
                            "scale": "Scale", "reverse_keyed": "Reverse-keyed"})

    st.subheader("Reliability")
    st.markdown(
        "Cronbach's alpha measures whether a construct's items move together. Below "
        f"**{ALPHA_WARNING:g}** "
        "the index is a rough guide only; the interval is Feldt's 95% interval."
    )
    rel = queries.reliability(ctx.snap) if not ctx.empty and ctx.snap else pd.DataFrame()
    if rel.empty:
        st.info("Reliability appears once survey responses have been loaded.")
    else:
        rel = rel.assign(construct=rel["construct"].map(
            lambda c: instrument.titles.get(c, str(c).replace("_", " ").capitalize())))
        ui.chart(ui.figure("reliability", rel), rel,
                 "Cronbach's alpha for each construct by quarter, with its 95% interval. "
                 f"The dashed line is {ALPHA_WARNING:g}; points below it come with a warning.",
                 key="reliability")
        warned = rel[rel["warning"].fillna(False).astype(bool)]
        if not warned.empty:
            for row in warned.itertuples():
                st.warning(f"{row.construct}, {row.quarter}: alpha {row.alpha:.2f} is below "
                           f"{ALPHA_WARNING:g} — "
                           "read this index as a rough guide.", icon=":material/warning:")

with anonymity:
    k = ctx.config.min_responses
    st.markdown(f"""
- **Survey answers are never linked to a member.** Identifying columns in survey exports
  (email, name, respondent id, IP address, location, user agent) are dropped when a file is
  loaded, and the load summary names them.
- **Fewer than {k} responses:** any survey figure for a group, quarter or slice with fewer than
  {k} responses is not shown; the cell says "fewer than {k} responses".
- **Secondary suppression:** where hidden groups together hold fewer than {k} responses, the
  next-smallest group is hidden as well, so no hidden figure can be worked out by subtracting
  from a total. A filtered slice must also leave at least {k} responses outside it.
- **Comments** are shown only for units with at least {ctx.config.min_comments} responses, and
  always as plain text.
- **Pooled quarters:** {"small groups are shown by pooling two consecutive quarters, labelled "
  "as pooled" if ctx.config.pool_quarters else "pooling two consecutive quarters for small "
  "groups is switched off"}.
- **Who sees what:** member-level views (members showing withdrawal signals) exist only in the
  coach's dashboard; the advisory council sees aggregates only.
- **Exports:** cells in downloaded CSVs that start with = + - @ are prefixed with an apostrophe
  so spreadsheets treat them as text.
""")
