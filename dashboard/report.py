"""The quarterly review as one self-contained HTML file a lead can email to the council.

plotly.js is embedded inline exactly once (with the first chart), so the file opens offline in
any browser. Every piece of text is HTML-escaped: group names and other values from the data can
never become markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go

STYLE = """
body { font-family: "Source Sans Pro", Helvetica, Arial, sans-serif; color: #1F2937;
       max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.45; }
h1 { font-size: 1.9rem; margin-bottom: .2rem; }
h2 { font-size: 1.35rem; margin-top: 2.2rem; border-bottom: 2px solid #FED7AA; padding-bottom: .3rem; }
.sub { color: #6B7280; margin-top: 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: .8rem; }
.tile { border: 1px solid #E5E7EB; border-radius: .6rem; padding: .7rem .9rem; }
.tile .label { color: #6B7280; font-size: .9rem; }
.tile .value { font-size: 1.6rem; font-weight: 600; }
.tile .change { font-size: .9rem; }
.up { color: #0F766E; } .down { color: #B91C1C; } .flat, .unknown { color: #6B7280; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #E5E7EB; padding: .35rem .5rem; text-align: left; }
th { background: #FFF7ED; }
.note { color: #6B7280; font-size: .9rem; }
.warning { background: #FEF3C7; border-left: 4px solid #D97706; padding: .5rem .8rem; margin: .4rem 0; }
.chart { margin: .5rem 0 1.2rem; }
ul.highlights li { margin: .25rem 0; }
footer { margin-top: 3rem; color: #9CA3AF; font-size: .85rem; }
"""


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    change: str
    tone: str  # up | down | flat | unknown


@dataclass
class Report:
    """A report built up block by block; ``to_html`` renders it."""

    title: str
    subtitle: str
    blocks: list[str] = field(default_factory=list)
    _charts: int = 0

    def heading(self, text: str) -> None:
        self.blocks.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str, css: str | None = None) -> None:
        cls = f' class="{css}"' if css else ""
        self.blocks.append(f"<p{cls}>{html.escape(text)}</p>")

    def warning(self, text: str) -> None:
        self.blocks.append(f'<div class="warning">{html.escape(text)}</div>')

    def bullets(self, items: list[str]) -> None:
        if items:
            lis = "".join(f"<li>{html.escape(i)}</li>" for i in items)
            self.blocks.append(f'<ul class="highlights">{lis}</ul>')

    def tiles(self, tiles: list[Tile]) -> None:
        cells = "".join(
            f'<div class="tile"><div class="label">{html.escape(t.label)}</div>'
            f'<div class="value">{html.escape(t.value)}</div>'
            f'<div class="change {html.escape(t.tone)}">{html.escape(t.change)}</div></div>'
            for t in tiles
        )
        self.blocks.append(f'<div class="tiles">{cells}</div>')

    def chart(self, fig: go.Figure, caption: str) -> None:
        # The first chart carries plotly.js inline; the rest reuse it. No network needed.
        body = fig.to_html(full_html=False, include_plotlyjs=self._charts == 0,
                           config={"displaylogo": False, "responsive": True})
        self._charts += 1
        self.blocks.append(f'<div class="chart">{body}'
                           f'<p class="note">What this shows: {html.escape(caption)}</p></div>')

    def table(self, frame: pd.DataFrame, caption: str | None = None) -> None:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
            for row in frame.itertuples(index=False)
        )
        note = f'<p class="note">{html.escape(caption)}</p>' if caption else ""
        self.blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}")

    def to_html(self) -> str:
        made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><p class=\"sub\">{html.escape(self.subtitle)}</p>"
            + "\n".join(self.blocks)
            + f"<footer>Made with Hearth on {made}. Survey figures for fewer responses than the "
            "anonymity threshold are not shown.</footer></body></html>"
        )


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)
