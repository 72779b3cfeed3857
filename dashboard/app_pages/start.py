"""Start page: what Hearth is, and how to get data in when the warehouse is empty."""

from __future__ import annotations

import streamlit as st

from dashboard import frame, ui
from dashboard.loading import SAMPLE_DIR, load_sample
from hearth.access import Viewer

ctx = frame.context()
# The app routes only signed-in people with a role here; no viewer would be nobody's to load for.
viewer = ctx.viewer or Viewer(email=None, name=None, role=None)

st.title("Welcome to Hearth")
st.markdown(
    "Hearth shows whether the small-group program is reducing member isolation: attendance, "
    "belonging, psychological safety, peer support and leadership, quarter by quarter, with "
    "honest uncertainty and without exposing anyone's survey answers."
)

if not ctx.empty:
    # Only reachable while the warehouse is empty; the app no longer registers this page then,
    # and load_sample refuses a warehouse with data in any case.
    st.success("Data is loaded. Choose a page in the sidebar to start.", icon=":material/check:")
    st.stop()

if ctx.snap is None and ctx.db.exists():
    st.info(f"A warehouse exists at {ctx.db}, but nothing has been published for the dashboard "
            "yet. Run `hearth refresh` (or load a file) and reload this page.",
            icon=":material/sync:")

if not viewer.is_lead:  # loading data is the data steward's alone
    st.info("Nothing has been published yet. The program lead loads the program's data; "
            "the other pages will then show it.", icon="🌱")
    st.stop()

st.subheader("Load your program's data")
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**From the command line**")
    st.code(f"hearth --db {ctx.db} ingest path/to/exports/", language="bash")
    st.markdown(
        "Canonical CSVs (groups, members, sessions, attendance, buddy check-ins, survey "
        "responses) and exports from meeting and survey tools are recognised from their "
        "content. The **Data** page takes uploads too."
    )
with right:
    st.markdown("**Or try Hearth on a sample community**")
    st.markdown(
        "A synthetic program of small groups over several quarters, with attendance, buddy "
        "check-ins and anonymous surveys."
    )
    if st.button("Load the bundled sample", key="load_sample", type="primary",
                 icon=":material/play_arrow:", disabled=not SAMPLE_DIR.is_dir()):
        with st.spinner("Loading the sample and computing the indicators..."):
            result = load_sample(ctx.db, viewer)
        st.session_state["last_upload_summary"] = result
        if not result.failed:  # straight to the audience's first page, now with data
            st.switch_page("app_pages/review.py")

result = st.session_state.get("last_upload_summary")
if result is not None:
    (st.error if result.failed else st.success)(
        "The load did not complete." if result.failed else "Loaded.")
    st.text(result.text)
    if not result.table.empty:
        ui.table(result.table, "what each file added, skipped as duplicate or quarantined.",
                 key="start_load_summary")
