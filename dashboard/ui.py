"""Display helpers every page uses, so each chart and table looks and behaves the same:
a title, a "what this shows" caption, and its data as a formula-safe CSV download.

Free text from the data is shown with st.dataframe / st.text only, never st.markdown.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts
from dashboard.exports import csv_bytes
from dashboard.labels import markdown_plain

# No Plotly mode bar: building it costs the browser 40-240 ms per chart (measured with
# benchmarks/chart_drawing.py's harness at load 16: trend 62 -> 25 ms, the 2,000-group funnel
# plot 1,009 -> 769 ms), on every draw. Zooming by dragging and resetting by double-clicking
# still work; Streamlit's own toolbar opens a chart full screen, and every chart's data is a
# CSV download below it (the HTML report keeps the mode bar, for offline use).
PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False}


def _pickled(value: dict | pd.DataFrame) -> bytes:
    # A dict of 2,000 group names hashed item by item by Streamlit costs seconds on a loaded
    # machine; its pickle is one string, hashed at once (same content, same order, same bytes).
    # A frame likewise: Streamlit hashes a frame through pandas' per-row hashing, which for the
    # Arrow-backed text columns of the query frames was most of a warm Compare rerun's cache
    # lookups (0.45 of 0.61 s profiled at load 20, the three figures' inputs); its pickle is
    # the columns' buffers as they are. Equal frames built the same way pickle alike; a frame
    # laid out differently only misses the cache (the figure is built again), never hits
    # another's.
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class _Built(go.Figure):
    """A figure of the cache, its dict made once: st.plotly_chart asks every rerun for the
    figure's dict (a deep copy of every trace, numpy arrays turned into base64) before writing
    its JSON, 40-50 ms for the 2,000-point funnel plot at load 25 and 0.37 s for Compare's three
    charts profiled; the cached figure is never changed, so its dict is the same each time."""

    def to_dict(self) -> dict:
        return self._hearth_dict


@st.cache_resource(max_entries=256, show_spinner=False,
                   hash_funcs={dict: _pickled, pd.DataFrame: _pickled})
def figure(kind: str, *args, **kwargs) -> go.Figure:
    """``charts.<kind>(*args, **kwargs)``, built once for each distinct input and shared by
    every rerun and session: building a Plotly figure costs tens of milliseconds (validation),
    a page draws up to a dozen, and the inputs are the small released frames of the snapshot,
    so the same snapshot and filters give the same figure. A cached resource, not cached data:
    it is handed out as is, not unpickled on every rerun; nothing changes a figure once built
    (st.plotly_chart only reads it, through its dict, made once here)."""
    built = getattr(charts, kind)(*args, **kwargs)
    built._hearth_dict = built.to_dict()
    built.__class__ = _Built
    return built


def chart(fig: go.Figure, data: pd.DataFrame, what: str, key: str,
          scope: str | None = None) -> None:
    """A Plotly chart, its caption and a CSV download of the data drawn.

    ``scope`` (dashboard.frame.filters_text) names the filters the chart was drawn under: it
    is said in the caption and written into the download's ``filters`` column, so a shared
    chart or file never loses what it covers."""
    st.plotly_chart(fig, key=f"chart_{key}", config=PLOTLY_CONFIG)
    _caption_and_download(what, data, key, scope)


def with_scope(data: pd.DataFrame, scope: str | None) -> pd.DataFrame:
    """The export of ``data``: a first column ``filters`` saying what it covers."""
    if scope is None:
        return data
    return pd.concat([pd.DataFrame({"filters": [scope] * len(data)}, index=data.index), data],
                     axis=1)


def _caption_and_download(what: str, data: pd.DataFrame, key: str,
                          scope: str | None = None) -> None:
    # the filters hold group and coach names: data, escaped so it never becomes Markdown
    st.caption(f"What this shows: {what}"
               + (f"  \nFilters: {markdown_plain(scope)}" if scope else ""))
    st.download_button(
        # Built only when clicked (Streamlit runs the callable then), not on every rerun.
        "Download data (CSV)", lambda: csv_bytes(with_scope(data, scope)),
        file_name=f"{key}.csv", mime="text/csv",
        key=f"download_{key}", icon=":material/download:", type="tertiary",
    )


def table(data: pd.DataFrame, what: str, key: str, column_config: dict | None = None,
          height: int | str = "auto", download: pd.DataFrame | None = None,
          scope: str | None = None, on_pick: Callable[[int], None] | None = None,
          **options) -> object:
    """A table shown as data (never rendered as Markdown), its caption and a CSV download.

    The only way a table reaches a page: its toolbar's own CSV export is off (app.py), so the
    download here, neutralised by dashboard.exports, is the only CSV of it. With ``on_pick``,
    clicking a row calls it with the row's position in ``data`` (before the app reruns).
    ``options`` go to st.dataframe (e.g. on_select and selection_mode for a table whose rows
    open something, or a ``row_height`` above 64 px so long text wraps inside its cell instead
    of being cut off); its return value is returned."""
    if on_pick is not None:
        def picked() -> None:
            rows = st.session_state[f"table_{key}"].selection.rows
            if rows:
                on_pick(int(rows[0]))

        options = {**options, "on_select": picked, "selection_mode": "single-row"}
    event = st.dataframe(data, key=f"table_{key}", hide_index=True,
                         column_config=column_config, height=height, **options)
    _caption_and_download(what, data if download is None else download, key, scope)
    return event


def no_data_yet() -> None:
    """What a data page shows before anything has been loaded and published."""
    st.info("No data has been loaded yet, so there is nothing to show here.", icon="🌱")
    st.page_link("app_pages/start.py", label="How to load data", icon=":material/upload:")


def nothing_selected() -> None:
    st.info("No group matches these filters. Widen the filters in the sidebar to see results.",
            icon=":material/filter_alt_off:")


def filtered_page_header(ctx, title: str, caption: str) -> None:
    """Title and caption of a page that follows the sidebar filters; stops the page, saying why,
    when there is no data yet, no indicator computed, or no group left by the filters."""
    if ctx.empty or ctx.snap is None:
        st.title(title)
        no_data_yet()
        st.stop()
    if ctx.quarter is None:
        st.title(title)
        st.info("The indicators have not been computed yet: run `hearth refresh`.")
        st.stop()
    st.title(f"{title} · {ctx.quarter}")
    st.caption(caption)
    if ctx.group_ids is not None and not ctx.group_ids:
        nothing_selected()
        st.stop()
