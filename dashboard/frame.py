"""What every page shares: the audience, the published snapshot, the configuration and the
sidebar filters. Session state is initialised here and nowhere else.

Pages start with ``ctx = frame.context()`` and read everything they need from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import queries
from dashboard.launch import Settings, settings
from hearth.config import Config, load_config
from hearth.warehouse import db_path

AUDIENCE_TITLES = {
    "lead": "Program lead",
    "council": "Advisory council",
    "coach": "Coach",
}

FILTER_LABELS = {
    "modality": "Modality",
    "language": "Language",
    "tz_band": "Time-zone band",
    "tier": "Main participation tier",
    "coach": "Coach",
    "size_band": "Group size",
}

# Every session-state key the dashboard uses, with its starting value.
STATE_DEFAULTS: dict[str, object] = {
    "filter_quarter": None,
    **{f"filter_{name}": [] for name in FILTER_LABELS},
    "drilldown_group": None,
    "funnel_cohort": "Joined this quarter",
    "last_upload_summary": None,
}


def init_state() -> None:
    """Give every key its starting value once per browser session.

    Keys that are also widget keys are re-assigned on every run: Streamlit forgets a widget's
    value on a run that does not draw it (the Data and Method pages draw no filters), and the
    assignment keeps the filters set when the user comes back.
    """
    for key, value in STATE_DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = list(value) if isinstance(value, list) else value
        else:
            st.session_state[key] = st.session_state[key]


@dataclass(frozen=True)
class Context:
    settings: Settings
    config: Config
    db: Path
    snap: queries.Snapshot | None
    empty: bool
    filters: queries.Filters

    @property
    def audience(self) -> str:
        return self.settings.audience

    @property
    def group_ids(self) -> tuple[str, ...] | None:
        """Groups kept by the sidebar filters; None = the whole program."""
        if self.empty or self.snap is None:
            return None
        return queries.selected_group_ids(self.snap, self.filters)

    @property
    def quarter(self) -> str | None:
        return self.filters.quarter


def base_context() -> Context:
    """Audience, configuration and the current snapshot (no filters yet)."""
    s = settings()
    config = load_config(s.config)
    snap = queries.snapshot(s.db)
    return Context(
        settings=s, config=config, db=db_path(s.db), snap=snap,
        empty=queries.is_empty(snap), filters=queries.Filters(),
    )


def _current_filters(ctx: Context) -> queries.Filters:
    state = st.session_state
    return queries.Filters(
        quarter=state.get("filter_quarter"),
        **{name: tuple(state.get(f"filter_{name}") or ()) for name in FILTER_LABELS},
    )


def sidebar_filters(ctx: Context) -> None:
    """The shared filters: quarter plus the group dimensions present in the data."""
    if ctx.empty or ctx.snap is None:
        return
    quarter_list = queries.quarters(ctx.snap)
    state = st.session_state
    # A new publish can add or remove quarters and values; keep only selections still possible.
    if quarter_list and state.get("filter_quarter") not in quarter_list:
        state["filter_quarter"] = queries.default_quarter(ctx.snap)
    options = queries.filter_options(ctx.snap)
    for name in FILTER_LABELS:
        kept = [v for v in state.get(f"filter_{name}") or [] if v in options[name]]
        if kept != list(state.get(f"filter_{name}") or []):
            state[f"filter_{name}"] = kept
    with st.sidebar:
        st.header("Filters")
        if quarter_list:
            st.selectbox("Quarter", list(reversed(quarter_list)), key="filter_quarter",
                         help="The quarter under review; changes are against the one before.")
        for name, label in FILTER_LABELS.items():
            if options[name]:
                st.multiselect(label, options[name], key=f"filter_{name}",
                               placeholder="All", format_func=_option_label)


def _option_label(value: str) -> str:
    return value.replace("_", " ")


def context() -> Context:
    """The context for this run: settings, snapshot and the filters as they stand.
    (The entry file has initialised session state before any page runs.)"""
    ctx = base_context()
    return Context(ctx.settings, ctx.config, ctx.db, ctx.snap, ctx.empty, _current_filters(ctx))
