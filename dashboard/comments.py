"""Survey comments on a page: grouped, searchable, paged, and filtered with the selected groups
only as far as the anonymity rule allows.

Grouping is deliberately simple, so anyone can say why two comments were counted as one: two
comments are the same when they are equal once case, spacing and punctuation are ignored
("Glad I came." and "glad i came" are one comment written twice: metrics.presentation.comment_key,
which the community update's quotes follow too).

Which comments exist is decided by the read layer (metrics.release, through dashboard.queries):
a group's comments are released only when the group reached k_comments responses and secondary
suppression left its list shown. A selection of groups shows the released lists of the selected
groups, never a pool of the others; the page says plainly when that leaves some or all out.

Comments are data: shown in tables (never Markdown), downloaded through the formula-safe CSV.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from dashboard import queries, ui
from metrics.presentation import comment_key

PAGE_SIZE = 15  # rows per page: the table stays well inside one screen
ROW, HEADER = 35, 38  # px: Streamlit's default row and header heights, to show a page unscrolled


def grouped(comments: pd.Series) -> pd.DataFrame:
    """One row per distinct comment: ``comment`` (its most frequent spelling; the first in
    alphabetical order on a tie), ``count`` and ``key`` (metrics.presentation.comment_key), most written
    first, then alphabetically. Blank comments are dropped."""
    frame = pd.DataFrame({"comment": comments.astype("string")}).dropna()
    frame = frame.assign(key=frame["comment"].map(comment_key))
    frame = frame[frame["key"] != ""]
    if frame.empty:
        return pd.DataFrame({"comment": pd.Series(dtype="string"),
                             "count": pd.Series(dtype="int64"), "key": pd.Series(dtype="string")})
    spellings = (frame.groupby(["key", "comment"]).size().rename("spelling").reset_index()
                 .sort_values(["key", "spelling", "comment"], ascending=[True, False, True]))
    shown = spellings.drop_duplicates("key")[["key", "comment"]]
    counts = frame.groupby("key").size().rename("count").reset_index()
    out = shown.merge(counts, on="key")[["comment", "count", "key"]]
    return out.sort_values(["count", "key"], ascending=[False, True], ignore_index=True)


def matching(table: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows of ``grouped`` whose text contains ``query`` (case, spacing and punctuation
    ignored, as in the grouping); every row for an empty query."""
    wanted = comment_key(query)
    if not wanted:
        return table
    return table[table["key"].str.contains(wanted, regex=False)].reset_index(drop=True)


def page_of(table: pd.DataFrame, page: int, size: int = PAGE_SIZE) -> pd.DataFrame:
    """Rows of page ``page`` (from 1; clamped to the pages there are)."""
    page = min(max(int(page), 1), pages(len(table), size))
    return table.iloc[(page - 1) * size: page * size]


def pages(rows: int, size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(rows / size))


def show(ctx, group_ids: tuple[str, ...] | None, key: str,
         heading: str = "What members said") -> None:
    """The comments section for a page: the whole program's comments (``group_ids`` None) or
    those of the selected groups that may be shown, saying what was left out and why."""
    snap, quarter, k = ctx.snap, ctx.quarter, ctx.config.min_comments
    if group_ids is None:
        said = queries.comments(snap, quarter)
        if said.empty:
            return
        st.subheader(heading)
        st.caption(f"Anonymous comments from across the program this quarter, shown only when "
                   f"at least {k} people responded.")
        _listing(said["comment"], key)
        return

    rows, left_out = queries.selection_comments(snap, quarter, tuple(group_ids))
    st.subheader(heading)
    one = len(group_ids) == 1
    why = (f"a group's comments are shown only when at least {k} of its members answered the "
           "survey this quarter, and a few more are held back so that hidden ones cannot be "
           "worked out from the rest")
    if rows.empty:
        if one:
            st.caption(f"This group's comments cannot be shown this quarter: {why}.")
            return
        st.info(f"Comments cannot be filtered to the {len(group_ids):,} selected groups: {why}, "
                "and none of the selected groups' comments can be shown on their own.",
                icon=":material/visibility_off:")
        program = queries.comments(snap, quarter)
        if not program.empty:
            st.caption("Below: the whole program's comments this quarter, not filtered to "
                       "the selection.")
            _listing(program["comment"], key)
        return
    if one:
        st.caption(f"Anonymous comments from this group's survey this quarter, shown because "
                   f"at least {k} members responded.")
    elif left_out:
        shown = len(group_ids) - len(left_out)
        st.caption(f"Comments from {shown:,} of the {len(group_ids):,} selected groups; the "
                   f"other {len(left_out):,} are left out: {why}.")
    else:
        st.caption(f"Comments from every one of the {len(group_ids):,} selected groups this "
                   f"quarter (each reached {k} responses).")
    _listing(rows["comment"], key)


@st.cache_data(show_spinner=False, max_entries=32)
def _grouped_once(comments: pd.Series) -> pd.DataFrame:
    """``grouped``, once per list of comments (a few thousand at 2,000 groups: normalising
    each costs a noticeable part of a rerun)."""
    return grouped(comments)


@st.fragment
def _listing(comments: pd.Series, key: str) -> None:
    """Search box, one page of grouped comments and the pager. A fragment: typing a search or
    turning a page reruns only this, not the page around it."""
    table = _grouped_once(comments)
    query = st.text_input("Search the comments", key=f"{key}_comment_search",
                          placeholder="a word or phrase", icon=":material/search:")
    found = matching(table, query)
    total = pages(len(found))
    page_key = f"{key}_comment_page"
    if st.session_state.get(page_key, 1) > total:
        st.session_state[page_key] = total  # a narrower search has fewer pages
    if found.empty:
        st.caption("No comment contains that.")
        return
    page = st.number_input(f"Page (of {total})", min_value=1, max_value=total, step=1,
                           key=page_key) if total > 1 else 1
    start = (int(page) - 1) * PAGE_SIZE
    shown = page_of(found, page)
    ui.table(
        shown[["comment", "count"]],
        f"comments {start + 1:,}–{start + len(shown):,} of {len(found):,} different comments "
        f"({int(found['count'].sum()):,} written in all), most written first. Comments that are "
        "the same once case, spacing and punctuation are ignored are counted once.",
        key=f"{key}_comments",
        column_config={
            "comment": st.column_config.TextColumn("Comment", width="large"),
            "count": st.column_config.NumberColumn("Times written", format="%d", width="small"),
        },
        download=found[["comment", "count"]],
        height=len(shown) * ROW + HEADER,
    )
