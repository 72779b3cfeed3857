"""Hearth dashboard entry file: routes to the pages of one audience and holds the shared filters.

Run with `hearth dashboard [--db PATH] [--audience lead|council|coach] [--port N]`.
  lead     sees the quarterly review, group comparison, data and method
  council  sees group comparison and method (aggregates only)
  coach    sees struggling groups, group comparison, data and method
"""

from __future__ import annotations

import streamlit as st

from dashboard import frame
from hearth.errors import HearthError

st.set_page_config(page_title="Hearth", page_icon="🔥", layout="wide")
# The table toolbar's own "Download as CSV" writes cells raw (formulas and all): it is turned off
# here, however the app is started, and each table offers the neutralised download instead.
st.set_option("client.disableDataExport", True)
frame.init_state()

try:
    ctx = frame.base_context()
except HearthError as exc:
    st.error(f"The dashboard cannot start: {exc}")
    st.stop()

PAGES = {
    "start": st.Page("app_pages/start.py", title="Start here", icon=":material/home:",
                     default=ctx.empty, visibility="visible" if ctx.empty else "hidden"),
    "review": st.Page("app_pages/review.py", title="Quarterly review",
                      icon=":material/insights:", default=not ctx.empty and ctx.audience == "lead"),
    "coach": st.Page("app_pages/coach.py", title="Struggling groups",
                     icon=":material/support:", default=not ctx.empty and ctx.audience == "coach"),
    "compare": st.Page("app_pages/compare.py", title="Compare groups",
                       icon=":material/compare_arrows:",
                       default=not ctx.empty and ctx.audience == "council"),
    "data": st.Page("app_pages/data.py", title="Data", icon=":material/database:"),
    "method": st.Page("app_pages/method.py", title="Method", icon=":material/menu_book:"),
}

SECTIONS = {
    "lead": {"Review": ["start", "review", "compare"], "About the data": ["data", "method"]},
    "council": {"Review": ["start", "compare"], "About the data": ["method"]},
    "coach": {"Coaching": ["start", "coach", "compare"], "About the data": ["data", "method"]},
}
FILTERED_PAGES = {"review", "coach", "compare"}

page = st.navigation(
    {section: [PAGES[name] for name in names]
     for section, names in SECTIONS[ctx.audience].items()},
)

with st.sidebar:
    st.caption(f"{ctx.config.program_name} · {frame.AUDIENCE_TITLES[ctx.audience]} view")
if any(page.url_path == PAGES[name].url_path for name in FILTERED_PAGES):
    frame.sidebar_filters(ctx)

page.run()
