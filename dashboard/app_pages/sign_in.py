"""Sign-in: the only page anyone sees before signing in with the program's provider."""

from __future__ import annotations

import streamlit as st

from dashboard import frame

ctx = frame.base_context()

st.title(f"Hearth · {ctx.config.program_name}")
st.markdown("Hearth shows whether the program's small groups are reducing isolation. Sign in "
            "with your program account; what you see depends on your role in the program.")
names = frame.auth_providers()
for name in names:
    label = "Sign in" if name == "default" else f"Sign in with {name.replace('-', ' ').title()}"
    st.button(label, key=f"sign_in_{name}", type="primary", icon=":material/login:",
              on_click=st.login, args=(None if name == "default" else name,))
