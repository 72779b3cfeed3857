"""Data page: upload files into the ingestion pipeline, see what was loaded, what was turned
away and why, and how fresh each group's data is."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import frame, queries, ui
from dashboard.loading import ingest_uploads
from pipelines.report import upload_log

ctx = frame.context()
viewer = ctx.viewer

st.title("Data")
st.caption("What has been loaded, what was turned away, and how up to date each group is.")

# The app registers this page for the lead only; the upload function checks again.
if viewer is None or not viewer.is_lead:  # uploads: the data steward's alone
    st.info("Files are loaded by the program lead, the program's data steward: every upload "
            "changes the figures everyone sees, so only the lead can make one.",
            icon=":material/lock:")
    st.stop()

st.subheader("Load files")
with st.form("upload_form", clear_on_submit=True, border=True):
    uploads = st.file_uploader(
        "Canonical CSVs or exports from meeting and survey tools",
        # pipelines.ingest.discover.SUFFIXES (not imported: the page stays light)
        type=["csv", "xlsx", "ods", "txt", "tsv"], accept_multiple_files=True, key="upload_files",
        help=f"Up to {ctx.config.upload_max_mb} MB per file. Files go through the same "
             "checks as `hearth ingest`: the same file twice adds nothing, and rows that "
             "fail a check are quarantined with the reason. Every upload is recorded.",
    )
    submitted = st.form_submit_button("Load files", type="primary",
                                      icon=":material/upload:", key="upload_submit")
if submitted:
    if not uploads:
        st.warning("Choose one or more files first.")
    else:
        with st.spinner(f"Loading {len(uploads)} file(s) and refreshing the indicators..."):
            st.session_state["last_upload_summary"] = ingest_uploads(
                uploads, ctx.db, ctx.config, viewer)
        st.rerun()  # pick up the newly published snapshot

result = st.session_state.get("last_upload_summary")
if result is not None:
    if result.failed:
        st.error("Some files could not be loaded; the summary below says why and what to fix.")
    else:
        st.success("Loaded. The pages now show the new data.")
    st.text(result.text)
    if not result.table.empty:
        ui.table(result.table, "for each file, the rows read, loaded, skipped as duplicates "
                 "and quarantined.", key="upload_summary")

st.subheader("Upload log")
log = pd.DataFrame(upload_log(ctx.db))
if log.empty:
    st.markdown("No uploads yet. Every upload from this page is recorded here: who, when, "
                "which file and what became of its rows.")
else:
    ui.table(
        log, "every upload from this page, newest first: who, when, the file and its "
        "content hash, and what became of its rows (or why it was refused).",
        key="upload_log",
        column_config={
            "at": "When (UTC)", "actor": "Who", "file_name": "File",
            "content_hash": "Content hash", "size_bytes": "Bytes",
            "rows_read": "Read", "rows_loaded": "Loaded", "rows_duplicate": "Duplicates",
            "rows_quarantined": "Quarantined", "members_changed": "Members changed",
            "error": "Problem",
        },
    )

if ctx.empty or ctx.snap is None:
    ui.no_data_yet()
    st.stop()

st.subheader("Load history")
manifest = queries.load_manifest(ctx.snap)
if not manifest.empty:
    newest = manifest.iloc[0]
    # File names come from users: plain text, never Markdown.
    st.text(f"{len(manifest)} file(s) loaded. Newest: {newest['file_name']} "
            f"({newest['kind']}, {int(newest['rows_loaded']):,} row(s) loaded).")
ui.table(
    manifest,
    "every file loaded, newest first. Rows read = loaded + duplicates + quarantined. "
    "'Dropped columns' are identifying survey columns removed before anything was stored.",
    key="load_manifest",
    column_config={
        "load_id": st.column_config.NumberColumn("Load", format="%d"),
        "file_name": "File", "kind": "Kind", "format": "Format",
        "loaded_at": st.column_config.DatetimeColumn("Loaded at", format="YYYY-MM-DD HH:mm"),
        "rows_read": "Read", "rows_loaded": "Loaded", "rows_duplicate": "Duplicates",
        "rows_quarantined": "Quarantined", "dropped_columns": "Dropped columns",
        "guests": "Guests", "notes": "Notes",
    },
)

st.subheader("Quarantine")
summary = queries.quarantine_summary(ctx.snap)
if summary.empty:
    st.success("No rows have been quarantined.", icon=":material/check:")
else:
    total = int(summary["rows"].sum())
    st.markdown(f"**{total:,}** rows were turned away. The reasons, most common first:")
    ui.table(summary, "quarantined rows counted by file and reason, with the first line "
             "affected.", key="quarantine_summary",
             column_config={"file_name": "File", "reason": "Reason", "rows": "Rows",
                            "first_line": "First line"})
    rows = queries.quarantine_rows(ctx.snap)
    with st.expander(f"The quarantined rows ({min(total, len(rows)):,} shown)"):
        ui.table(
            rows, "each row turned away, with its file, line (the header is line 1), column and "
            "reason. Survey answers are never kept, so their value is empty.",
            key="quarantine_rows", download=queries.quarantine_rows(ctx.snap, limit=None),
            column_config={"load_id": "Load", "file_name": "File", "line": "Line",
                           "column_name": "Column", "reason": "Reason", "value": "Value"},
        )

st.subheader("Freshness per group")
fresh = queries.freshness(ctx.snap)
if fresh.empty:
    st.info("Freshness appears after the indicators have been computed (`hearth refresh`).")
else:
    stale = fresh[fresh["days_behind"].fillna(10**6) > 14]
    if stale.empty:
        st.markdown("Every group has sessions within two weeks of the newest data.")
    else:
        st.warning(f"{len(stale)} group(s) have no session in the two weeks before the newest "
                   "data: their exports may be missing.", icon=":material/schedule:")
    ui.table(
        fresh.drop(columns=["group_id"]),
        "for each group, the newest session and attendance record loaded, the latest quarter "
        "with survey figures shown, and "
        "how many days its newest session lags the newest session in the program.",
        key="freshness", download=fresh,
        column_config={
            "group_name": "Group",
            "latest_session_date": st.column_config.DateColumn("Newest session"),
            "latest_attendance_date": st.column_config.DateColumn("Newest attendance"),
            "latest_survey_quarter": st.column_config.TextColumn(
                "Latest survey figures", help="the latest quarter whose survey figures for "
                "this group are shown (a hidden group's survey dates are never shown)"),
            "days_behind": st.column_config.NumberColumn("Days behind", format="%d"),
        },
    )
