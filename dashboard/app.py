"""Hearth dashboard entry file: decides who is looking, routes to the pages their role may see,
and holds the shared filters.

Run with `hearth dashboard` (see dashboard/launch.py). With sign-in ([auth] in Streamlit's
secrets), each person's role in hearth.toml [access] decides the pages:
  lead     the quarterly review, any coach's struggling groups (no member drifting away: the
           watchlist is the coaches'), actions, group comparison, data (with uploads), method
  council  the quarterly review, group comparison and method: aggregates only
  coach    their own struggling groups (members of their groups only), comparison and method
  no role  a page saying whom to ask, nothing else
In local mode (no [auth]) the single user on this machine sees the --audience chosen.

Pages a role may not see are never registered with st.navigation, so their URLs do not open
them; member-level reads are checked again in dashboard/queries.py against the viewer's groups.
"""

from __future__ import annotations

import streamlit as st

from dashboard import frame, profiling
from hearth.errors import HearthError

st.set_page_config(page_title="Hearth", page_icon="🔥", layout="wide")
# The table toolbar's own "Download as CSV" writes cells raw (formulas and all): it is turned off
# here, however the app is started, and each table offers the neutralised download instead.
st.set_option("client.disableDataExport", True)
frame.init_state()

try:
    with profiling.section("app", "context"):
        ctx = frame.base_context()
except HearthError as exc:
    st.error(f"The dashboard cannot start: {exc}")
    st.stop()

if ctx.viewer is None or ctx.viewer.role is None:
    # Not signed in, or signed in without a role: one page, whatever URL was asked for.
    gate = "app_pages/sign_in.py" if ctx.viewer is None else "app_pages/no_access.py"
    st.navigation([st.Page(gate, title="Hearth", default=True)], position="hidden").run()
    st.stop()

role = ctx.viewer.role
PAGES = {
    "start": st.Page("app_pages/start.py", title="Start here", icon=":material/home:",
                     default=ctx.empty, visibility="visible" if ctx.empty else "hidden"),
    "review": st.Page("app_pages/review.py", title="Quarterly review",
                      icon=":material/insights:", default=not ctx.empty and role == "lead"),
    "coach": st.Page("app_pages/coach.py", title="Struggling groups",
                     icon=":material/support:", default=not ctx.empty and role == "coach"),
    "compare": st.Page("app_pages/compare.py", title="Compare groups",
                       icon=":material/compare_arrows:",
                       default=not ctx.empty and role == "council"),
    "actions": st.Page("app_pages/actions.py", title="Actions", icon=":material/checklist:"),
    "data": st.Page("app_pages/data.py", title="Data", icon=":material/database:"),
    "method": st.Page("app_pages/method.py", title="Method", icon=":material/menu_book:"),
}

# The Data page takes uploads and shows raw rows of every group: the data steward's alone.
SECTIONS = {
    "lead": {"Review": ["start", "review", "coach", "actions", "compare"],
             "About the data": ["data", "method"]},
    "council": {"Review": ["start", "review", "compare", "actions"], "About the data": ["method"]},
    "coach": {"Coaching": ["start", "coach", "actions", "compare"], "About the data": ["method"]},
}
FILTERED_PAGES = {"review", "coach", "compare", "actions"}

# The Start page (and its sample button) exists only while the warehouse is empty: afterwards
# it is not registered at all, so its URL leads to the audience's first page.
page = st.navigation(
    {section: [PAGES[name] for name in names if name != "start" or ctx.empty]
     for section, names in SECTIONS[role].items()},
)

with profiling.section("app", "sidebar"):
    frame.sidebar_identity(ctx)
    if any(page.url_path == PAGES[name].url_path for name in FILTERED_PAGES):
        frame.sidebar_filters(ctx)

with profiling.section("app", f"page {page.title}"):
    page.run()
