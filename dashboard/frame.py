"""What every page shares: who is looking (the Viewer), the published snapshot, the
configuration and the sidebar filters. Session state is initialised here and nowhere else.

Pages start with ``ctx = frame.context()`` and read everything they need from it.

Who is looking: with an [auth] section in Streamlit's secrets the person signs in with the
program's OpenID Connect provider (st.login) and hearth.access turns their ID-token claims and
hearth.toml [access] into a Viewer; without one, local mode has a single user on this machine
seeing the audience chosen with `hearth dashboard --audience`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import queries
from dashboard.launch import Settings, is_loopback, providers, settings
from hearth.access import (
    ROLE_TITLES,
    Viewer,
    local_viewer,
    resolve_viewer,
    role_of,
    verified_email,
)
from hearth.config import Config, load_config
from hearth.errors import HearthError
from hearth.warehouse import db_path

AUDIENCE_TITLES = ROLE_TITLES

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
    "filter_group": [],   # groups picked by name (the searchable group filter)
    "focus_group": None,  # "Find a group": the group opened and marked in every chart
    "drilldown_group": None,
    "funnel_cohort": "Joined this quarter",
    "review_section": None,  # the review's chart section drawn (one at a time; none at first)
    "last_upload_summary": None,
    "cycle_flash": None,  # dashboard/cycle.py: the message after an action or sign-off is saved
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


# --- who is looking -----------------------------------------------------------------------------

class LocalModeRefused(HearthError):
    """Local mode (no sign-in) reached from another machine."""


def auth_configured() -> bool:
    """True when Streamlit's secrets hold an [auth] section: sign-in mode."""
    try:
        return st.secrets.load_if_toml_exists() and "auth" in st.secrets
    except Exception:  # noqa: BLE001 - an unreadable secrets file is reported by Streamlit itself
        return False


def auth_providers() -> list[str]:
    """The providers to offer a sign-in button for ('default' for an unnamed one)."""
    return providers(st.secrets["auth"].to_dict())


def signed_in_claims() -> dict | None:
    """The signed-in person's ID-token claims, or None before sign-in."""
    if not st.user.is_logged_in:
        return None
    return st.user.to_dict()


def check_local_mode() -> None:
    """Local mode has no sign-in, so it answers this machine only: `hearth dashboard` binds to
    localhost, and this catches `streamlit run` bound elsewhere, or a proxy in front of it."""
    address = str(st.get_option("server.address") or "")
    ip = st.context.ip_address  # None for localhost (Streamlit says so); a str otherwise
    remote = isinstance(ip, str) and not _loopback_ip(ip)
    if (address and not is_loopback(address)) or remote:
        raise LocalModeRefused(
            "This dashboard has no sign-in and serves only the machine it runs on; configure "
            "[auth] in .streamlit/secrets.toml (docs/deploy.md) to serve others.")


def _loopback_ip(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _group_coaches(snap: queries.Snapshot | None) -> dict[str, str | None]:
    if queries.is_empty(snap):
        return {}
    frame = queries.groups(snap)
    return {str(g): (None if c is None or c != c else str(c))
            for g, c in zip(frame["group_id"], frame["coach"], strict=True)}


def current_viewer(s: Settings, config: Config) -> Viewer | None:
    """Who is looking; None while nobody has signed in (sign-in mode only)."""
    if not auth_configured():
        check_local_mode()
        return local_viewer(s.audience)
    claims = signed_in_claims()
    if claims is None:
        return None
    role = role_of(config.access, verified_email(claims), claims)
    # A coach's groups come from the groups' coach field, read from the coach's own snapshot.
    coaches = _group_coaches(queries.snapshot(s.db, "coach")) if role == "coach" else {}
    return resolve_viewer(config.access, claims, coaches)


@dataclass(frozen=True)
class Context:
    settings: Settings
    config: Config
    db: Path
    snap: queries.Snapshot | None
    empty: bool
    filters: queries.Filters
    viewer: Viewer | None = None  # None: nobody has signed in yet

    @property
    def audience(self) -> str | None:
        """The viewer's role: lead, council, coach, or None (no role, or not signed in)."""
        return self.viewer.role if self.viewer is not None else None

    @property
    def member_groups(self) -> frozenset[str] | None:
        """Groups whose members the viewer may see (None: every group); pass to member-level
        reads in queries as ``within``."""
        if self.viewer is None or self.viewer.role not in ("lead", "coach"):
            return frozenset()
        return self.viewer.groups

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
    """Viewer, configuration and the snapshot of the viewer's role (no filters yet). Someone
    not signed in, or without a role, gets no snapshot at all."""
    s = settings()
    config = load_config(s.config)
    viewer = current_viewer(s, config)
    snap = queries.snapshot(s.db, viewer.role) if viewer is not None and viewer.role else None
    return Context(
        settings=s, config=config, db=db_path(s.db), snap=snap,
        empty=queries.is_empty(snap), filters=queries.Filters(), viewer=viewer,
    )


def _current_filters(ctx: Context) -> queries.Filters:
    state = st.session_state
    return queries.Filters(
        quarter=state.get("filter_quarter"),
        **{name: tuple(state.get(f"filter_{name}") or ()) for name in FILTER_LABELS},
        group=tuple(state.get("filter_group") or ()),
    )


def sidebar_filters(ctx: Context) -> None:
    """The shared filters: quarter, "Find a group", then the group filters in a form.

    The group filters are applied together with one button (st.form): at 2,000 groups each
    pick used to rerun the whole page, and narrowing to one coach's groups took 2-3 reruns.
    The quarter and "Find a group" are single picks and act at once.
    """
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
    names = queries.group_names(ctx.snap)
    ids = queries.groups_in_name_order(ctx.snap)
    own = ctx.viewer.groups if ctx.viewer is not None and ctx.viewer.role == "coach" else None
    if own is not None:  # a coach picks among their own groups; the rest are theirs as totals
        ids = [g for g in ids if g in own]
        names = {g: n for g, n in names.items() if g in own}
    kept = [g for g in state.get("filter_group") or [] if g in names]
    if kept != list(state.get("filter_group") or []):
        state["filter_group"] = kept
    if state.get("focus_group") is not None and state["focus_group"] not in names:
        state["focus_group"] = None
    with st.sidebar:
        st.header("Filters")
        if quarter_list:
            st.selectbox("Quarter", list(reversed(quarter_list)), key="filter_quarter",
                         help="The quarter under review; changes are against the one before.")
        st.selectbox("Find a group", ids, index=None, key="focus_group",
                     format_func=lambda g: names.get(g, g), placeholder="Type a group's name",
                     help="Opens the group on this page and marks it in the charts.")
        with st.form("group_filters", border=False, enter_to_submit=False):
            st.multiselect("Groups", ids, key="filter_group", placeholder="All",
                           format_func=lambda g: names.get(g, g),
                           help="Type to search; pick as many as you like.")
            for name, label in FILTER_LABELS.items():
                if options[name]:
                    st.multiselect(label, options[name], key=f"filter_{name}",
                                   placeholder="All", format_func=_option_label)
            st.form_submit_button("Apply filters", type="primary", icon=":material/filter_alt:")


def filters_text(ctx: Context) -> str:
    """The filters as they stand, in words, for every chart caption and export:
    "2026Q3 · whole program" or "2026Q3 · Modality: video · Coach: Ana · 12 of 2,000 groups"."""
    parts = [ctx.quarter or "no quarter"]
    filters = ctx.filters
    if filters.group and ctx.snap is not None:
        names = queries.group_names(ctx.snap)
        picked = [names.get(g, g) for g in filters.group]
        shown = ", ".join(picked[:3]) + (f" and {len(picked) - 3} more" if len(picked) > 3
                                         else "")
        parts.append(f"Groups: {shown}")
    for name, label in FILTER_LABELS.items():
        values = getattr(filters, name)
        if values:
            parts.append(f"{label}: {', '.join(_option_label(v) for v in values)}")
    if ctx.snap is None or ctx.empty:
        return " · ".join(parts)
    total = len(queries.groups(ctx.snap))
    selected = ctx.group_ids
    parts.append("whole program" if selected is None
                 else f"{len(selected):,} of {total:,} groups")
    return " · ".join(parts)


def _option_label(value: str) -> str:
    return value.replace("_", " ")


def context() -> Context:
    """The context for this run: settings, snapshot and the filters as they stand.
    (The entry file has initialised session state before any page runs.)"""
    ctx = base_context()
    return Context(ctx.settings, ctx.config, ctx.db, ctx.snap, ctx.empty, _current_filters(ctx),
                   ctx.viewer)


def sidebar_identity(ctx: Context) -> None:
    """Who is looking, at the top of the sidebar: the local-mode notice, or the signed-in
    person, their role and the way out."""
    viewer = ctx.viewer
    with st.sidebar:
        if viewer is None:
            return
        if viewer.local:
            st.warning(f"**Local mode — no sign-in.** {ctx.config.program_name} · "
                       f"{AUDIENCE_TITLES[viewer.role]} view, for this machine only.",
                       icon=":material/lock_open:")
            return
        title = AUDIENCE_TITLES.get(viewer.role, "no role")
        st.caption(f"{ctx.config.program_name} · {title}")
        st.text(f"Signed in as {viewer.name or viewer.email or 'you'}")  # from the provider
        st.button("Sign out", key="sign_out", on_click=st.logout, icon=":material/logout:",
                  type="tertiary")
