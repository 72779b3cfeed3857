"""Signed in without a role: say so politely, say whom to ask, show nothing else."""

from __future__ import annotations

import streamlit as st

from dashboard import frame
from hearth.access import whom_to_ask

ctx = frame.base_context()
viewer = ctx.viewer

st.title("You don't have access to Hearth yet")
who = (viewer.email or viewer.name) if viewer is not None else None
# Names and emails come from the provider: plain text, never Markdown.
st.text(f"You are signed in{f' as {who}' if who else ''}, but you have no role in "
        f"{ctx.config.program_name}'s Hearth.")
st.text(f"To be given access, ask {whom_to_ask(ctx.config.access)}.")
if viewer is not None and viewer.email is None:
    st.caption("Your sign-in provider did not confirm an email address for this account, and "
               "roles are given by email.")
st.button("Sign out", key="sign_out", on_click=st.logout, icon=":material/logout:")
