"""The community update: a short, aggregate-only note for members, in Markdown or HTML.

Built from metrics.going_well.community_update (program figures only, actions as counts by
theme, comments only as the read layer releases them). The HTML is one self-contained file
(inline style, no scripts, no external assets) that opens offline; the Markdown pastes into a
newsletter. Text from the data (comments, the program's name) is escaped in both, so a comment
can never become a link, an image or markup.
"""

from __future__ import annotations

import re
from typing import Any

from dashboard.report import Report

FORMATS = ("md", "html")
# Inside a line, these are the characters Markdown (and GitHub's, and newsletter tools')
# could turn into emphasis, code, links, images, HTML or tables.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~])")


def _md(text: str) -> str:
    """Text from the data as plain text in Markdown: one line, markup characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _sections(update: dict[str, Any]) -> list[tuple[str, list[str], str | None]]:
    """(heading, bullet lines, closing sentence) in the order both formats print them."""
    figures = [f"{f['title']}: {f['figure']}" + (f"; {f['change']}" if f["change"] else "")
               for f in update["figures"]]
    changed = list(update["progress"])
    if update["groups_recognised"]:
        changed.append(f"{update['groups_recognised']} group(s) are recognised this quarter for "
                       "a clear improvement or a sustained strength.")
    doing = update["doing"]
    themes = [f"{theme}: {n} action{'s' if n != 1 else ''}"
              for theme, n in sorted(doing["by_theme"].items())]
    status = doing["by_status"]
    doing_note = (f"{status.get('doing', 0)} under way, {status.get('planned', 0)} planned, "
                  f"{status.get('done', 0)} done." if doing["total"] else
                  "No actions have been recorded yet.")
    return [
        ("How we are doing", figures,
         "Ranges show how sure we can be: with fewer answers the range is wider. Figures from "
         f"fewer than {update['k']} answers are never shown."),
        ("What changed", changed or ["No clear change in the program's figures since last "
                                     "quarter."], None),
        ("What we are doing about it", themes, doing_note),
        ("In members' words", [f"“{q}”" for q in update["quotes"]],
         None if update["quotes"] else "Not enough comments this quarter to quote any "
                                       "without singling someone out."),
    ]


def to_markdown(update: dict[str, Any]) -> str:
    lines = [f"# {_md(update['program'])}: community update, {update['quarter']}", ""]
    for heading, items, closing in _sections(update):
        lines += [f"## {heading}", ""]
        lines += [f"- {_md(item)}" for item in items]
        if items:
            lines.append("")
        if closing:
            lines += [closing, ""]
    lines.append("Everything here is about the program as a whole: no group or person can be "
                 "picked out from it.")
    return "\n".join(lines) + "\n"


def to_html(update: dict[str, Any]) -> str:
    report = Report(f"{update['program']}: community update",
                    f"{update['quarter']} · for members")
    for heading, items, closing in _sections(update):
        report.heading(heading)
        report.bullets(items)
        if closing:
            report.paragraph(closing, "note")
    report.paragraph("Everything here is about the program as a whole: no group or person can "
                     "be picked out from it.", "note")
    return report.to_html()


def render(update: dict[str, Any], fmt: str) -> str:
    if fmt == "md":
        return to_markdown(update)
    if fmt == "html":
        return to_html(update)
    raise ValueError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
