"""How indicators read on screen. Titles, kinds and directions come from metrics.definitions
(the one table of facts about indicators); this module only adds the dashboard's ordering."""

from __future__ import annotations

import re

from metrics.definitions import BY_KEY

# Inside a line, the characters Streamlit's Markdown could turn into emphasis, code, links,
# images, HTML, tables or LaTeX ($).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~$])")


def markdown_plain(text: object) -> str:
    """Text from the data as plain text inside a caption: one line, markup escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


# The tiles of the quarterly review, in reading order.
KPI_ORDER = [
    "attendance_rate", "active_members", "sessions_held", "newcomer_return", "retention",
    "buddy_coverage", "belonging", "psychological_safety", "peer_support", "loneliness_share",
    "willingness_to_lead", "hosting_breadth", "distinct_hosts", "top_host_share", "new_hosts",
]

# The comparison heatmap's columns, and how many groups it shows before asking for filters.
HEATMAP_INDICATORS = [
    "attendance_rate", "newcomer_return", "buddy_coverage", "hosting_breadth", "belonging",
    "psychological_safety", "peer_support", "loneliness_share", "willingness_to_lead",
]
MAX_GROUPS_SHOWN = 40

DIMENSIONS = {
    "modality": "Modality",
    "language": "Language",
    "tz_band": "Time-zone band",
    "tier": "Participation tier",
    "captioned": "Captioned sessions",
}


def indicator_title(key: str) -> str:
    found = BY_KEY.get(key)
    return found.title if found else key.replace("_", " ").capitalize()


def lower_is_better(key: str) -> bool:
    found = BY_KEY.get(key)
    return found is not None and found.higher_is_better is False


def is_survey(key: str) -> bool:
    found = BY_KEY.get(key)
    return found is not None and found.family == "survey"


def is_index(key: str) -> bool:
    """Survey indices on the 0-100 scale."""
    found = BY_KEY.get(key)
    return found is not None and found.family == "survey" and found.kind == "mean"
