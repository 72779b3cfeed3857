"""How a figure reads: the words and number formats the CLI, the pages and the report share.

One home for "can't tell yet" and for writing an indicator's value, its interval and its change,
so that `hearth review`, the dashboard and the HTML report say the same thing about a figure.

    CANT_TELL                                   too little data for a figure or a change
    format_value(indicator, value) -> str       the number alone: '78%', '12', '3.5'
    figure_words(indicator, value, status, k, pooled) -> str   the number, or why there is none
    change_text(indicator, delta) -> str        a change: '+4 pts', '+2', '-0.5'
    format_figure(key, obj, verdict) -> str     a review object as a plain-text cell (the CLI)
    verdict_words(verdict) -> str               a change test's verdict: 'clearly up', ...
    TESTED_AT_NEXT_REFRESH                      a follow-up test the snapshot does not hold yet
    print_json(obj)                             a command's --json output
    comment_key(text) -> str                    what two comments share when they are the same

Light on purpose (no pandas, no numpy): the CLI's read commands import it and must start fast.
"""

from __future__ import annotations

import json
import math
import re
import sys
import unicodedata
from typing import Any

from metrics.anonymity import INSUFFICIENT_LABEL, POOLED_LABEL, SUPPRESSED_LABEL, is_missing
from metrics.definitions import BY_KEY

# The anonymity rule's word for a figure without enough data is also the verdict on a change
# that cannot be told: one wording everywhere.
CANT_TELL = INSUFFICIENT_LABEL

#: An action's survey-index test runs on the answers, which only the warehouse holds; the
#: refresh publishes it for the pages (metrics.followup.publish_action_tests). An action added
#: or re-aimed since the last refresh has no published test yet.
TESTED_AT_NEXT_REFRESH = "tested at the next refresh"

#: A change test's verdict (statistics.change_verdicts) in words: "up" and "down" are the
#: clear ones (adjusted p < 0.05 and at least the indicator's practical minimum).
VERDICT_WORDS = {
    "up": "clearly up",
    "down": "clearly down",
    "no meaningful change": "a clear but small change (less than the practical minimum)",
    "no clear change": "no clear change",
    CANT_TELL: CANT_TELL,
}

__all__ = ["CANT_TELL", "TESTED_AT_NEXT_REFRESH", "VERDICT_WORDS", "change_text",
           "figure_words", "format_figure", "format_value", "is_missing", "is_percent",
           "is_true", "verdict_words"]


def is_percent(key: str) -> bool:
    """Shares between 0 and 1 (proportions and survival), displayed as percentages."""
    found = BY_KEY.get(key)
    return found is not None and found.kind in ("proportion", "survival")


def is_true(value: object) -> bool:
    """A flag from a frame (bool, numpy bool, NA or None) as a plain bool."""
    return not is_missing(value) and bool(value)


def format_value(indicator: str, value: float | None) -> str:
    """An indicator's value the way every page and the report prints it ('' when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if is_percent(indicator):
        return f"{value:.0%}"
    if abs(value) >= 10 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.1f}"


def change_text(indicator: str, delta: float) -> str:
    """A change between quarters: percentage points for shares, else the indicator's unit."""
    if is_percent(indicator):
        # a decimal below 10 points, so that a clear change never reads "+0 pts"
        points = delta * 100
        return f"{points:+.0f} pts" if abs(points) >= 10 else f"{points:+.1f} pts"
    if abs(delta) >= 10 or float(delta).is_integer():
        return f"{delta:+,.0f}"
    return f"{delta:+.1f}"


def figure_words(indicator: str, value: object, status: str | None, k: int,
                 pooled: object = False) -> str:
    """A figure as every page prints it: the number (labelled when two quarters were pooled to
    reach k responses), or in words when there is none."""
    if status == "suppressed":
        return SUPPRESSED_LABEL(k)
    if status == "insufficient" or is_missing(value):
        return CANT_TELL
    number = format_value(indicator, float(value))
    return f"{number} ({POOLED_LABEL})" if is_true(pooled) else number


def verdict_words(verdict: str) -> str:
    """A change verdict as the follow-up prints it, on the pages and in the CLI alike:
    'clearly up', 'no clear change', "can't tell yet", 'tested at the next refresh'."""
    return VERDICT_WORDS.get(verdict, verdict)


def format_figure(key: str, obj: dict[str, Any], verdict: bool = True) -> str:
    """One indicator object (metrics.api.indicator_object) as a short plain-text cell, e.g.
    '78% (71-84%) n=120'; without a figure, the note saying why."""
    if obj["status"] != "ok":
        return obj.get("note") or (CANT_TELL if obj["status"] == "insufficient"
                                   else "suppressed")
    value = obj["value"]
    spec = BY_KEY[key]
    if spec.kind in ("proportion", "survival"):
        text = f"{100 * value:.0f}%"
        if obj["ci_low"] is not None:
            text += f" ({100 * obj['ci_low']:.0f}-{100 * obj['ci_high']:.0f}%)"
    elif spec.kind == "mean" and key != "host_hhi":
        text = f"{value:.0f}"
        if obj["ci_low"] is not None:
            text += f" ({obj['ci_low']:.0f}-{obj['ci_high']:.0f})"
    elif key == "host_hhi":
        text = f"{value:.2f}"
    else:
        text = f"{value:.0f}"
    if obj.get("n") is not None:
        text += f" n={obj['n']}"
    if obj.get("note"):
        text += f" [{obj['note']}]"
    if verdict and obj["change"]["verdict"] in ("up", "down"):
        text += f" ({obj['change']['verdict']} since last quarter)"
    return text


def print_json(obj: Any) -> None:
    """A command's --json output: indented for a person at a terminal, compact when piped.

    (json only indents in its pure-Python encoder; the compact form uses the C encoder, about
    ten times faster - `hearth review --json` spent more time indenting than computing.)"""
    if sys.stdout.isatty():
        print(json.dumps(obj, indent=2, default=str, ensure_ascii=False))
    else:
        print(json.dumps(obj, default=str, ensure_ascii=False, separators=(",", ":")))


_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def comment_key(text: object) -> str:
    """A comment's text with case, spacing and punctuation ignored: two comments are the same
    comment written twice when their keys are equal ("Glad I came." and "glad i came"), on a
    page and in the community update alike. Nothing fuzzier: a near-match that merged different
    wording would put words in members' mouths. (Unicode letters, accents and digits are kept
    as written.)"""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", folded).replace("_", " ")).strip()
