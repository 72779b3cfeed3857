"""The quarterly review in words: KPI tiles, highlight sentences and the shareable HTML report.

Pure functions over the small frames the query layer returns, shared by the Quarterly review
page and the HTML export so both say exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard import charts
from dashboard.labels import DIMENSIONS, KPI_ORDER, indicator_title, is_survey, lower_is_better
from dashboard.report import Report, Tile
from metrics.anonymity import POOLED_LABEL, SUPPRESSED_LABEL
from metrics.definitions import ALPHA_WARNING, state_words
from metrics.presentation import CANT_TELL, change_text, figure_words
from metrics.presentation import is_missing as _missing
from metrics.presentation import is_true as _true


@dataclass(frozen=True)
class Kpi:
    """One KPI tile: what it shows now and how it changed, already in words."""

    indicator: str
    title: str
    value: str                # the figure, or in words: "fewer than 5 responses", "can't tell yet"
    has_figure: bool
    change: str | None        # e.g. "+4 pts"; None when the change can't be told
    verdict: str              # up | down | no meaningful change | no clear change | can't tell yet
    judgement: str            # better | worse | flat | unknown
    note: str                 # the change (or why there is no figure) in words
    n: int | None

    @property
    def summary(self) -> str:
        """The line under the tile when there is no change to show, in words."""
        if self.has_figure:
            text = self.note
        else:
            text = f"{self.value}: {self.note}" if self.note else self.value
        return text[:1].upper() + text[1:]


def kpi(row: pd.Series | dict, k: int, previous: str | None) -> Kpi:
    """A tile from one indicator row (marts.indicators, or a pooled selection): suppressed and
    too-thin figures in words, and a change only where the test could tell."""
    get = row.get
    indicator, title, n = str(get("indicator")), indicator_title(str(get("indicator"))), \
        _int(get("n"))
    status = get("status") or "ok"
    value = get("value")
    why = get("note") if isinstance(get("note"), str) and get("note") else None
    pooled = _true(get("pooled"))
    shown = figure_words(indicator, value, status, k)
    if shown in (SUPPRESSED_LABEL(k), CANT_TELL):
        note = why if why and why != shown else ("" if status == "suppressed"
                                                 else "too little data this quarter")
        return Kpi(indicator, title, shown, False, None, CANT_TELL, "unknown", note, n)
    if pooled:  # a pooled figure spans two quarters: no change against the last one
        return Kpi(indicator, title, shown, True, None, CANT_TELL, "unknown", POOLED_LABEL, n)
    verdict, delta = get("verdict"), get("delta")
    if _missing(verdict) or verdict == CANT_TELL or _missing(delta):
        against = f" vs {previous}" if previous else ""
        return Kpi(indicator, title, shown, True, None, CANT_TELL, "unknown",
                   f"change{against}: {CANT_TELL}", n)
    if verdict in ("no clear change", "no meaningful change"):
        judgement, note = "flat", str(verdict)
    else:
        rose = verdict == "up"
        judgement = "better" if rose != lower_is_better(indicator) else "worse"
        note = f"clear {'rise' if rose else 'fall'}"
    return Kpi(indicator, title, shown, True, change_text(indicator, float(delta)),
               str(verdict), judgement, note, n)


def _int(value: object) -> int | None:
    return None if _missing(value) else int(value)


def kpis(indicators: pd.DataFrame, k: int, previous: str | None) -> list[Kpi]:
    """Tiles in the review's reading order, for the indicators present."""
    if indicators.empty:
        return []
    rows = {str(r["indicator"]): r for _, r in indicators.iterrows()}
    return [kpi(rows[key], k, previous) for key in KPI_ORDER if key in rows]


def highlights(movements: pd.DataFrame) -> list[str]:
    """Sentences such as "Belonging rose in 4 groups; the change is clear in 2.", for every
    indicator and direction in which at least one group changed clearly, from
    ``queries.movement_counts`` (indicator, direction, moved, clear); then one sentence for the
    movements chance can explain."""
    if movements.empty:
        return []
    sentences: list[tuple[int, str]] = []
    unclear = 0
    for row in movements.itertuples():
        if row.indicator not in KPI_ORDER:
            continue
        moved, clear = int(row.moved), int(row.clear)
        if clear == 0:
            unclear += 1
            continue
        word = "rose" if row.direction == "up" else "fell"
        groups = "group" if moved == 1 else "groups"
        tail = ("the change is clear" if moved == 1
                else "the change is clear in all of them" if clear == moved
                else f"the change is clear in {clear}")
        sentences.append((clear, f"{indicator_title(row.indicator)} {word} in {moved} {groups}; "
                                 f"{tail}."))
    out = [s for _, s in sorted(sentences, key=lambda item: -item[0])]
    if unclear:
        out.append("The other movements between groups are within what chance produces."
                   if out else "No group changed clearly on any indicator: every movement is "
                   "within what chance produces.")
    return out


def reliability_sentences(warnings: pd.DataFrame, titles: dict[str, str]) -> list[str]:
    out = []
    for row in warnings.itertuples():
        name = titles.get(str(row.construct), str(row.construct).replace("_", " ").capitalize())
        out.append(f"{name}: Cronbach's alpha is {row.alpha:.2f} (below {ALPHA_WARNING:g}) from "
                   f"{int(row.n)} responses, so read this index as a rough guide this quarter.")
    return out


def _flags_section(report: Report, flags: pd.DataFrame, chance: str | None) -> None:
    """Flags raised (and resolved) this quarter: group, flag, since when, why."""
    report.heading("Struggling-group flags")
    shown = flags[flags["flag"] != "cant_tell_yet"] if not flags.empty else flags
    if shown.empty:
        report.paragraph("No group is flagged this quarter.", css="note")
    else:
        report.table(pd.DataFrame({
            "Group": shown.get("group_name", shown["group_id"]).fillna(shown["group_id"]),
            "Flag": shown["flag"].str.replace("_", " "),
            "Since": [state_words(s, f, int(n)) for s, f, n in zip(
                shown["state"], shown["since"], shown["quarters"], strict=True)],
            "Why": shown["reason"],
        }), "Resolved flags are shown once, in the quarter after they were last raised.")
    if chance:
        report.paragraph(chance, css="note")


# The review's chart sections, one drawn at a time (dashboard/app_pages/review.py).
SECTION_TITLES = {"trends": "Trends", "participation": "Participation and retention",
                  "inclusion": "Inclusion"}
PICK_A_SECTION = ("Pick a section above to draw its charts: the trends of the key indicators "
                  "over the quarters, the participation funnel and retention, or the inclusion "
                  "breakdowns.")

TREND_INDICATORS = ["attendance_rate", "active_members", "belonging", "psychological_safety",
                    "peer_support", "loneliness_share"]


def build_report(*, program: str, quarter: str, previous: str | None, scope: str, k: int,
                 tiles: list[Kpi], sentences: list[str], warnings: list[str],
                 trends: pd.DataFrame, funnel: pd.DataFrame, retention: pd.DataFrame,
                 inclusion: pd.DataFrame, flags: pd.DataFrame | None = None,
                 chance: str | None = None) -> str:
    """The quarterly review as one self-contained HTML page (plotly.js inline once).

    `flags` (metrics.api.flags for the scope) adds the struggling-group flags with their
    lifecycle; `chance` is the sentence saying how many of them chance alone would raise."""
    report = Report(title=f"{program}: quarterly review {quarter}",
                    subtitle=f"{scope}. Changes are against {previous or 'the previous quarter'}; "
                             "every figure carries its uncertainty.")
    report.heading("Key indicators")
    report.tiles([
        Tile(t.title, t.value if t.has_figure else "—",
             f"{t.change} · {t.note}" if t.change else t.summary,
             {"better": "up", "worse": "down", "flat": "flat"}.get(t.judgement, "unknown"))
        for t in tiles
    ])
    report.heading("Highlights")
    if sentences:
        report.bullets(sentences)
    else:
        report.paragraph("No group moved on any indicator this quarter, or there is no earlier "
                         "quarter to compare with.", css="note")
    for text in warnings:
        report.warning(text)
    if flags is not None:
        _flags_section(report, flags, chance)
    report.heading("Trends")
    for indicator in TREND_INDICATORS:
        part = trends[trends["indicator"] == indicator] if not trends.empty else trends
        if not part.empty:
            report.chart(charts.trend(part, indicator, k), trend_caption(indicator))
    if not funnel.empty:
        report.heading("Participation")
        report.chart(charts.participation_funnel(funnel, f"Members who joined in {quarter}: "
                                                         "from joining to hosting"),
                     FUNNEL_CAPTION)
    if not retention.empty:
        report.chart(charts.retention_curve(retention), RETENTION_CAPTION)
    if not inclusion.empty:
        report.heading("Inclusion")
        for dimension, title in DIMENSIONS.items():
            part = inclusion[(inclusion["dimension"] == dimension)
                             & (inclusion["indicator"] == "attendance_rate")]
            if not part.empty:
                report.chart(charts.inclusion(part, "attendance_rate", title, k),
                             inclusion_caption("attendance_rate", title))
    return report.to_html()


def trend_caption(indicator: str) -> str:
    base = f"{indicator_title(indicator)} for each quarter, with its 95% interval (the bars)."
    if is_survey(indicator):
        base += " Quarters with too few survey responses are named instead of drawn."
    return base


FUNNEL_CAPTION = ("of the members who first joined in this quarter, how many have since come to a "
                  "first session, come regularly (at least 60% of their expected sessions) and "
                  "hosted a session. Recent newcomers have had less time to move along.")
FUNNEL_CAPTION_ALL = ("of everyone who has joined the program, how many have come to a first "
                      "session, come regularly (at least 60% of their expected sessions) and "
                      "hosted a session.")
RETENTION_CAPTION = ("the share of members still taking part after a number of days since "
                     "joining (Kaplan–Meier), with its 95% band. Leaving, or missing 4 sessions "
                     "in a row, ends a membership.")


def inclusion_caption(indicator: str, dimension_title: str) -> str:
    return (f"{indicator_title(indicator)} for each {dimension_title.lower()} category this "
            "quarter, with 95% intervals. Categories with too few responses are named, not drawn.")
