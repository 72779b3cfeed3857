"""Plotly figures for every page and for the HTML report: pure functions, frame in, figure out.

Titles and axis labels are written for a program lead, not an analyst. Intervals are always
drawn; a suppressed figure is labelled in words ("fewer than 5 responses") rather than drawn.
"""

from __future__ import annotations

import html
import re

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.labels import indicator_title, is_index, lower_is_better
from metrics.anonymity import SUPPRESSED_LABEL
from metrics.definitions import ALPHA_WARNING
from metrics.presentation import CANT_TELL, format_value, is_percent

WARM = "#C2410C"       # Hearth's accent: the program's own figures
TEAL = "#0F766E"       # a second series / "better"
GREY = "#9CA3AF"       # context: expected, limits, the program median
LIGHT = "rgba(194,65,12,0.15)"
FONT = "Source Sans Pro, Helvetica, Arial, sans-serif"

# Every Hearth figure uses plotly_white. Plotly puts its default template into a new figure
# without validating it again (a few ms); setting one per figure with update_layout validates
# and deep-copies the whole template, 80-130 ms a figure on a loaded machine, which was most of
# a page's rerun (docs/benchmarks.md). Every figure of the process is drawn here.
pio.templates.default = "plotly_white"


def plain(text: object) -> str:
    """A name from the data, safe as Plotly label text: Plotly reads a few HTML tags in labels
    (<a href>, <b>, ...), so angle brackets are written as entities and show as typed."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Margins for a chart whose tick labels are short and known in advance (quarters, dates, days,
# sizes; percentages, indices, counts): room for the y ticks and its title on the left, the x
# ticks and its title below. Such a chart is drawn with these margins and no automargin: with
# automargin Plotly draws it once, measures its labels, grows the margins and draws it again,
# which was two thirds of a trend chart's drawing time in Chromium (160 ms -> 55 ms) and 60% of
# the funnel plot's at 2,000 groups (2.3 s -> 0.96 s; docs/benchmarks.md). Charts labelled with
# the data's names (groups, hosts) start with margins estimated from their labels (_room_for) and
# keep automargin as the safety net: when the estimate is wide enough Plotly draws them once too
# (the heatmap of 40 groups: 1.4 s -> 0.6 s).
FIXED_MARGIN = {"l": 72, "r": 16, "t": 64, "b": 56}


def _room_for(labels: list[str], font: int = 13) -> int:
    """Pixels for the widest of ``labels`` (tags such as <b> not counted) at ``font`` size, a
    little more than Source Sans Pro needs, so automargin rarely has to grow it."""
    widest = max((len(re.sub(r"<[^>]+>", "", html.unescape(str(t)))) for t in labels), default=0)
    return min(420, int(widest * 0.62 * font) + 24)


def _style(fig: go.Figure, title: str, x: str | None, y: str | None,
           height: int = 360, legend: bool = True, margin: dict | None = None,
           grow: bool = False) -> go.Figure:
    """Hearth's look for a figure. ``margin`` (FIXED_MARGIN) for a chart whose labels fit it:
    drawn once, without automargin, unless ``grow`` (margins estimated from the data's names:
    automargin still grows them if they fall short); None: 10 px margins grown by automargin."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 17}},
        font={"family": FONT, "size": 13},
        height=height,
        margin=margin or {"l": 10, "r": 10, "t": 60, "b": 10},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hoverlabel={"font_family": FONT},
        # one figure has one x and one y axis: set here rather than by update_xaxes/yaxes,
        # which walk the layout again
        xaxis={"title": {"text": x}, "automargin": margin is None or grow},
        yaxis={"title": {"text": y}, "automargin": margin is None or grow},
    )
    return fig


def _compact(values: pd.Series) -> list:
    """Figures as the browser gets them: 4 decimals (0.7346 is 73.46%, an index 73.4567), which
    is more than any label shows and makes the figure's JSON a third shorter at 2,000 groups."""
    return pd.to_numeric(values, errors="coerce").round(4).tolist()


def _axis(indicator: str) -> tuple[str, dict]:
    """Axis title and format for an indicator's values."""
    if is_percent(indicator):
        return "% of members" if indicator != "attendance_rate" else "% of expected attendances", \
            {"tickformat": ".0%", "rangemode": "tozero"}
    if is_index(indicator):
        return "Index (0–100)", {"range": [0, 100]}
    return "Number", {"rangemode": "tozero"}


def _error(frame: pd.DataFrame) -> dict:
    low = (frame["value"] - frame["ci_low"]).clip(lower=0)
    high = (frame["ci_high"] - frame["value"]).clip(lower=0)
    return {"type": "data", "symmetric": False, "array": _compact(high),
            "arrayminus": _compact(low), "color": GREY, "thickness": 1.5, "width": 4}


HIGHLIGHT = "#1D4ED8"  # "my group", marked in every chart


def trend(frame: pd.DataFrame, indicator: str, k: int, title: str | None = None,
          group: pd.DataFrame | None = None, group_name: str | None = None) -> go.Figure:
    """One indicator over all quarters with its 95% interval (frame: quarter, value, ci_low,
    ci_high, n, status). Suppressed or too-thin quarters are named, not drawn. ``group`` (same
    columns) adds one group's own line, marked, beside the scope's."""
    frame = frame.sort_values("quarter")
    shown = frame[frame["value"].notna()]
    fig = go.Figure(go.Scatter(
        x=shown["quarter"], y=_compact(shown["value"]), mode="lines+markers",
        name=indicator_title(indicator),
        line={"color": WARM, "width": 2.5}, marker={"size": 8}, error_y=_error(shown),
        customdata=shown[["n"]].fillna(0).astype(int), hovertemplate="%{x}: %{y}<br>n = %{customdata[0]}<extra></extra>",
    ))
    missing = frame[frame["value"].isna()]
    for q, status in zip(missing["quarter"], missing.get("status", [None] * len(missing)), strict=False):
        fig.add_annotation(x=q, yref="paper", y=0.05, showarrow=False, textangle=-90,
                           text=_missing_text(status, k), font={"color": "#6B7280", "size": 11})
    mine = None
    if group is not None and not group.empty:
        mine = group.sort_values("quarter")
        mine = mine[mine["value"].notna() & mine["quarter"].isin(frame["quarter"])]
        fig.data[0].name = "All selected groups"
        fig.add_trace(go.Scatter(
            x=mine["quarter"], y=_compact(mine["value"]), mode="lines+markers",
            name=plain(group_name or ""),
            line={"color": HIGHLIGHT, "width": 2, "dash": "dot"},
            marker={"size": 9, "symbol": "diamond"},
            hovertemplate=f"{plain(group_name or '')}" + " %{x}: %{y}<extra></extra>"))
    y_title, y_axis = _axis(indicator)
    _style(fig, title or indicator_title(indicator), "Quarter", y_title, height=300,
           legend=mine is not None, margin=FIXED_MARGIN)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=list(frame["quarter"]))
    fig.update_yaxes(**y_axis)
    return fig


def _wrap(text: str, width: int) -> str:
    """Break a label onto lines of about ``width`` characters (Plotly wraps nothing itself)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _missing_text(status: str | None, k: int) -> str:
    if status == "suppressed":
        return SUPPRESSED_LABEL(k)
    return CANT_TELL


def participation_funnel(frame: pd.DataFrame, title: str = "From joining to hosting"
                         ) -> go.Figure:
    """Members at each step: joined → first session → regular → host (frame: stage, members)."""
    labels = {"joined": "Joined", "first_session": "Came to a first session",
              "regular": "Comes regularly (≥60%)", "host": "Hosted a session"}
    stages = [labels.get(s, s) for s in frame["stage"]]
    fig = go.Figure(go.Funnel(
        y=stages, x=frame["members"],
        textinfo="value+percent initial", marker={"color": [WARM, "#EA580C", "#F97316", TEAL]},
        hovertemplate="%{y}: %{x} members<extra></extra>",
    ))
    return _style(fig, title, "Members", None, height=320, legend=False,
                  margin={"l": _room_for(stages), "r": 16, "t": 64, "b": 56}, grow=True)


def retention_curve(frame: pd.DataFrame) -> go.Figure:
    """Kaplan–Meier share of members still taking part after N days, with its 95% band."""
    frame = frame.sort_values("days")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=frame["days"], y=_compact(frame["ci_high"]), mode="lines",
                             line_shape="hv",
                             line={"width": 0}, hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=frame["days"], y=_compact(frame["ci_low"]), mode="lines",
                             line_shape="hv",
                             line={"width": 0}, fill="tonexty", fillcolor=LIGHT,
                             name="95% interval", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=frame["days"], y=_compact(frame["survival"]), mode="lines",
                             line_shape="hv",
                             line={"color": WARM, "width": 2.5}, name="Still taking part",
                             customdata=frame[["at_risk"]],
                             hovertemplate="After %{x} days: %{y:.0%} still taking part"
                                           "<br>%{customdata[0]} members followed<extra></extra>"))
    _style(fig, "How long members stay", "Days since joining", "Share still taking part",
           height=320, margin=FIXED_MARGIN)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return fig


def inclusion(frame: pd.DataFrame, indicator: str, dimension_title: str, k: int) -> go.Figure:
    """One indicator across the categories of one dimension (frame: category, value, ci_low,
    ci_high, n, status)."""
    frame = frame.sort_values("category")
    shown = frame[frame["value"].notna()]
    fig = go.Figure(go.Bar(
        x=shown["category"].map(lambda c: plain(str(c).replace("_", " "))), y=shown["value"],
        marker_color=WARM, error_y=_error(shown),
        text=[format_value(indicator, v) for v in shown["value"]], textposition="outside",
        customdata=shown[["n"]].fillna(0).astype(int),
        hovertemplate="%{x}: %{y}<br>n = %{customdata[0]}<extra></extra>",
    ))
    for cat, status in zip(frame.loc[frame["value"].isna(), "category"],
                           frame.loc[frame["value"].isna(), "status"], strict=True):
        fig.add_trace(go.Bar(x=[str(cat).replace("_", " ")], y=[0], showlegend=False,
                             hoverinfo="skip", marker_color=GREY))
        fig.add_annotation(x=str(cat).replace("_", " "), y=0, yanchor="bottom", showarrow=False,
                           text=_missing_text(status, k), font={"color": "#6B7280", "size": 11})
    y_title, y_axis = _axis(indicator)
    _style(fig, f"{indicator_title(indicator)} by {dimension_title.lower()}", dimension_title,
           y_title, height=320, legend=False)
    fig.update_yaxes(**y_axis)
    return fig


def heatmap(values: pd.DataFrame, labels: pd.DataFrame, k: int,
            reference: pd.DataFrame | None = None, highlight: str | None = None,
            marks: dict[str, str] | None = None) -> go.Figure:
    """Groups (rows) × indicators (columns), coloured by distance from the program's median
    group in units of that indicator's spread (interquartile range), oriented so that blue is
    always the better side. ``values`` holds numbers (NaN where suppressed or too thin);
    ``labels`` the words for every cell; ``reference`` (index indicator: median, spread) is
    computed over all groups so a filtered view keeps the program's yardstick. ``marks`` puts
    a sign before a row's name (⚑ flagged, ◆ outside the limits); the ``highlight`` row's name
    is shown in bold."""
    relative = pd.DataFrame(index=values.index)
    for column in values.columns:
        col = values[column].astype(float)
        if reference is not None and column in reference.index:
            median, spread = reference.at[column, "median"], reference.at[column, "spread"]
        else:
            median, spread = col.median(), col.quantile(0.75) - col.quantile(0.25)
        if not spread or pd.isna(spread):
            spread = col.std() or 1.0
        score = (col - median) / spread
        relative[column] = -score if lower_is_better(column) else score
    relative = relative.clip(-2, 2)
    columns = [_wrap(indicator_title(c), 11) for c in values.columns]
    text = labels.map(lambda t: _wrap(str(t), 12)).to_numpy()
    marks = marks or {}

    def row_label(g: str) -> str:
        text = (marks.get(g, "") + " " + plain(g)).strip()
        return f"<b>▶ {text}</b>" if g == highlight else text

    rows = [row_label(g) for g in values.index]
    fig = go.Figure(go.Heatmap(
        z=relative.to_numpy(dtype=float).round(3), x=columns, y=rows,
        text=text, texttemplate="%{text}", textfont={"size": 11},
        colorscale="RdBu", zmid=0, zmin=-2, zmax=2, xgap=2, ygap=2, hoverongaps=False,
        colorbar={"tickvals": [-2, 0, 2], "thickness": 14,
                  "ticktext": ["worse than<br>the median", "median<br>group", "better than<br>the median"]},
        customdata=labels.to_numpy(),
        hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>",
    ))
    height = max(340, 160 + 30 * len(values.index))
    # room on the right for the colour bar, on top for the indicators' names (three lines)
    _style(fig, "Each group against the median group", None, None, height=height, legend=False,
           margin={"l": _room_for(rows), "r": 120, "t": 120, "b": 10}, grow=True)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top", tickangle=0)
    fig.add_annotation(xref="paper", yref="paper", x=0, y=-0.02, yanchor="top", showarrow=False,
                       text=f"Uncoloured cells: {SUPPRESSED_LABEL(k)}, or {CANT_TELL}.",
                       font={"size": 11, "color": "#6B7280"})
    return fig


def funnel_plot(points: pd.DataFrame, indicator: str, names: dict[str, str],
                highlight: str | None = None) -> go.Figure:
    """Spiegelhalter funnel plot: each group's value against its size, with the program target
    and the 95% and 99.8% limits expected from chance alone (frame columns as marts.funnel_points)."""
    points = points.sort_values("n")
    fig = go.Figure()
    limits = [("lo998", "hi998", "99.8% limits", "dot"), ("lo95", "hi95", "95% limits", "dash")]
    # The lines need one vertex per distinct size, not one per group: at 2,000 groups the
    # repeated vertices were most of what the browser had to draw for this chart.
    lines = points.drop_duplicates(
        [c for c in ("n", "lo998", "hi998", "lo95", "hi95", "target") if c in points])
    for low, high, name, dash in limits:
        for column, show in ((low, True), (high, False)):
            fig.add_trace(go.Scatter(x=lines["n"], y=_compact(lines[column]), mode="lines",
                                     name=name,
                                     line={"color": GREY, "dash": dash, "width": 1.5},
                                     showlegend=show, hoverinfo="skip", legendgroup=name))
    fig.add_trace(go.Scatter(x=lines["n"], y=_compact(lines["target"]), mode="lines",
                             name="Program average", line={"color": "#374151", "width": 1.5},
                             hoverinfo="skip"))
    # One trace per reading (within, above or below each limit), each in one colour: at 2,000
    # groups a colour and a description per point were a third of the figure's JSON, and the
    # legend now says what the colours mean. No white outline: it made Chromium draw each
    # marker twice (960 ms -> 640 ms at 2,000 groups); the slight transparency shows overlaps.
    outside = points["outside"].fillna("within").astype(str)
    reading = outside.map(lambda o: "within" if o.startswith("within") else o)
    for value in ["within", *sorted(set(reading) - {"within"}, key=_limit_order)]:
        part = points[reading == value]
        if value == "within":
            colour, described, name = GREY, "within the limits", "Within the limits"
        else:
            side, level = value.split()[0], value.split()[-1]
            better = side.startswith("above") != lower_is_better(indicator)
            colour = TEAL if better else WARM
            described = f"{side} the {level} limit"
            name = f"{'Better' if better else 'Worse'} ({side} {level})"
        fig.add_trace(go.Scatter(
            x=part["n"].tolist(), y=_compact(part["value"]), mode="markers", name=name,
            marker={"color": colour, "size": 9, "opacity": 0.8},
            text=[plain(names.get(str(g), g)) for g in part["group_id"]],
            hovertemplate=f"%{{text}}<br>%{{y}} from %{{x}}<br>{described}<extra></extra>",
        ))
    _mark_group(fig, points, highlight, names, x="n", y="value")
    y_title, y_axis = _axis(indicator)
    x_title = ("Expected attendances" if indicator == "attendance_rate"
               else "Members" if is_percent(indicator) else "Responses")
    # up to eight legend entries take two lines above the plot: room for them under the title
    _style(fig, f"{indicator_title(indicator)}: groups against chance variation", x_title, y_title,
           height=400, margin=FIXED_MARGIN | {"t": 110})
    y_axis.pop("range", None)
    y_axis.pop("rangemode", None)
    fig.update_yaxes(**y_axis)
    return fig


def _limit_order(reading: str) -> tuple[int, str]:
    """Readings outside the limits, the 99.8% ones first (the legend's order)."""
    return (0 if reading.endswith("99.8%") else 1, reading)


def _mark_group(fig: go.Figure, frame: pd.DataFrame, group_id: str | None,
                names: dict[str, str], x: str, y: str) -> None:
    """One group drawn over the rest: a ring and its name ("highlight my group")."""
    if group_id is None:
        return
    row = frame[frame["group_id"].astype(str) == str(group_id)]
    if row.empty:
        return
    name = plain(names.get(str(group_id), group_id))
    fig.add_trace(go.Scatter(
        x=row[x], y=row[y], mode="markers+text", name=name, text=[name] * len(row),
        textposition="top center", textfont={"color": HIGHLIGHT, "size": 13},
        marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": HIGHLIGHT, "width": 3}},
        hoverinfo="skip"))


def shrunken_ranking(frame: pd.DataFrame, indicator: str, names: dict[str, str],
                     highlight: str | None = None) -> go.Figure:
    """Each group's shrunken estimate with its 95% interval, next to its raw figure.
    Overlapping intervals mean the order between those groups is not settled.

    With a ``position`` column (1 = lowest of all the groups ranked) the frame may hold only
    some of them (the lowest and highest, the highlighted group): wherever positions skip, a
    grey band says how many groups are not drawn there, so the top and the bottom are never
    read as one list."""
    frame = frame.sort_values("position" if "position" in frame else "estimate")
    labels = [plain(names.get(str(g), g)) for g in frame["group_id"]]
    labels = [f"<b>▶ {t}</b>" if str(g) == str(highlight) else t
              for g, t in zip(frame["group_id"], labels, strict=True)]
    gaps: list[int] = []
    if "position" in frame:
        rows, shown, last = [], [], 0
        for (_, row), label in zip(frame.iterrows(), labels, strict=True):
            skipped = int(row["position"]) - last - 1
            if skipped > 0 and last > 0:
                gaps.append(len(rows))
                rows.append(pd.Series({c: float("nan") for c in frame.columns}
                                      | {"group_id": f"__gap{len(rows)}"}))
                shown.append(f"··· {skipped:,} group{'s' if skipped != 1 else ''} "
                             f"not drawn ···{' ' * len(gaps)}")
            rows.append(row)
            shown.append(label)
            last = int(row["position"])
        frame, labels = pd.DataFrame(rows).reset_index(drop=True), shown
        for column in ("estimate", "ci_low", "ci_high", "raw_value", "n"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=frame["estimate"], y=labels, mode="markers", name="Estimate (shrunk towards the average)",
        marker={"color": WARM, "size": 9},
        error_x={"type": "data", "symmetric": False,
                 "array": (frame["ci_high"] - frame["estimate"]).clip(lower=0).tolist(),
                 "arrayminus": (frame["estimate"] - frame["ci_low"]).clip(lower=0).tolist(),
                 "color": WARM, "thickness": 1.5, "width": 3},
        customdata=pd.to_numeric(frame["n"], errors="coerce").fillna(0).astype(int)
        .to_frame(),
        hovertemplate="%{y}: %{x}<br>n = %{customdata[0]}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(x=frame["raw_value"], y=labels, mode="markers", name="Raw figure",
                             marker={"color": GREY, "size": 7, "symbol": "circle-open"},
                             hovertemplate="%{y}: raw %{x}<extra></extra>"))
    for at in gaps:  # on a category axis, row i sits at y = i
        fig.add_hrect(y0=at - 0.5, y1=at + 0.5, fillcolor="#E5E7EB", line_width=0,
                      layer="below")
    y_title, axis = _axis(indicator)
    _style(fig, f"{indicator_title(indicator)}: estimates with their uncertainty", y_title, None,
           height=max(300, 80 + 22 * len(frame)),
           margin={"l": _room_for(labels), "r": 16, "t": 64, "b": 56}, grow=True)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels)
    axis.pop("rangemode", None)
    fig.update_xaxes(**axis)
    return fig


def session_attendance(frame: pd.DataFrame) -> go.Figure:
    """Expected vs attended for each session of one group."""
    frame = frame.sort_values("session_date")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=frame["session_date"], y=frame["expected"], name="Expected",
                         marker_color="#E5E7EB",
                         hovertemplate="%{x|%d %b %Y}: %{y} expected<extra></extra>"))
    fig.add_trace(go.Bar(x=frame["session_date"], y=frame["attended"], name="Attended",
                         marker_color=WARM,
                         hovertemplate="%{x|%d %b %Y}: %{y} attended<extra></extra>"))
    _style(fig, "Attendance at each session", "Session date", "Members", height=320,
           margin=FIXED_MARGIN)
    fig.update_layout(barmode="overlay", bargap=0.25)
    return fig


def host_rotation(frame: pd.DataFrame) -> go.Figure:
    """Who hosted each session: a rotating host shows many rows, a single host one long row."""
    frame = frame.sort_values("session_date").assign(
        host=lambda f: f["host_name"].fillna("No host recorded").map(plain))
    order = frame.groupby("host")["session_date"].min().sort_values().index.tolist()
    fig = go.Figure(go.Scatter(
        x=frame["session_date"], y=frame["host"], mode="markers",
        marker={"color": TEAL, "size": 10, "symbol": "square"},
        hovertemplate="%{x|%d %b %Y}: hosted by %{y}<extra></extra>",
    ))
    _style(fig, "Who hosted each session", "Session date", None,
           height=max(260, 90 + 26 * len(order)), legend=False,
           margin={"l": _room_for(order), "r": 16, "t": 64, "b": 56}, grow=True)
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1])
    return fig


def survey_quarters(frame: pd.DataFrame, k: int) -> go.Figure:
    """Survey indices of one group over quarters (frame: quarter, indicator, value, ci_low,
    ci_high, n, status). Suppressed quarters are named below the axis."""
    fig = go.Figure()
    colours = {"belonging": WARM, "psychological_safety": TEAL, "peer_support": "#7C3AED"}
    quarters = sorted(frame["quarter"].unique())
    for indicator, part in frame.groupby("indicator", sort=False):
        shown = part[part["value"].notna()].sort_values("quarter")
        fig.add_trace(go.Scatter(
            x=shown["quarter"], y=_compact(shown["value"]), mode="lines+markers",
            name=indicator_title(str(indicator)), error_y=_error(shown),
            line={"color": colours.get(str(indicator), GREY), "width": 2.5},
        ))
    hidden = frame[frame["value"].isna()].groupby("quarter")["status"].first()
    for q, status in hidden.items():
        fig.add_annotation(x=q, y=5, showarrow=False, text=_missing_text(status, k),
                           textangle=-90, yanchor="bottom", font={"color": "#6B7280", "size": 11})
    _style(fig, "Survey indices over the quarters", "Quarter", "Index (0–100)", height=320,
           margin=FIXED_MARGIN)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=quarters)
    fig.update_yaxes(range=[0, 100])
    return fig


def reliability(frame: pd.DataFrame) -> go.Figure:
    """Cronbach's alpha per construct and quarter with the warning line (ALPHA_WARNING)."""
    fig = go.Figure()
    palette = [WARM, TEAL, "#7C3AED", "#2563EB", "#6B7280"]
    for i, (construct, part) in enumerate(frame.groupby("construct", sort=False)):
        part = part.sort_values("quarter")
        fig.add_trace(go.Scatter(
            x=part["quarter"], y=part["alpha"], mode="lines+markers", name=str(construct),
            line={"color": palette[i % len(palette)]},
            error_y={"type": "data", "symmetric": False,
                     "array": (part["ci_high"] - part["alpha"]).clip(lower=0).tolist(),
                     "arrayminus": (part["alpha"] - part["ci_low"]).clip(lower=0).tolist()},
        ))
    fig.add_hline(y=ALPHA_WARNING, line_dash="dash", line_color=GREY,
                  annotation_text=f"{ALPHA_WARNING:g}",
                  annotation_position="bottom right")
    _style(fig, "How consistently each construct's items are answered", "Quarter",
           "Cronbach's alpha", height=340, margin=FIXED_MARGIN)
    fig.update_xaxes(type="category")
    return fig
