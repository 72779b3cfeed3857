"""Every page of every audience shows only released survey figures.

The hidden figures' true values are worked out here from the warehouse's own answers (which no
snapshot holds); every page is rendered with AppTest - whole program, a filtered selection, a
coach's drill-down - and no number on it (tiles, tables, chart data) may equal one of them. A
hidden value is distinctive enough to test for when it is not a round number (a mean like
71.428571 or a share like 0.6667), so a coincidence with a shown count cannot pass for a leak.
"""

from __future__ import annotations

import json
import math
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from metrics.definitions import SURVEY_KEYS
from tests.test_dashboard_pages import SAMPLE_CASES, app_for, no_exception, open_page

# the review's chart sections ("Look closer"), none drawn until one is picked
REVIEW_SECTIONS = ("trends", "participation", "inclusion")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def hidden_values(db) -> set[float]:
    """True values of the survey figures the release layer hid (groups), as shown (means) and
    as percentages (shares), when they are not round numbers and were not also released."""
    with duckdb.connect(str(db), read_only=True) as con:
        scores = con.execute(
            "SELECT quarter, group_id, CASE construct WHEN 'loneliness' THEN 'loneliness_share' "
            "ELSE construct END AS indicator, score FROM marts.survey_scores "
            "WHERE group_id IS NOT NULL").df()
        rows = con.execute(
            "SELECT quarter, group_id, indicator, status, value FROM marts.indicators "
            "WHERE indicator IN (SELECT unnest(?::VARCHAR[])) AND group_id IS NOT NULL",
            [list(SURVEY_KEYS)]).df()
    released = set(np.round(rows.loc[rows["status"] == "ok", "value"].dropna(), 6))
    hidden = rows[rows["status"] == "suppressed"]
    out = set()
    for (quarter, group, indicator), part in scores.groupby(["quarter", "group_id", "indicator"]):
        if not ((hidden["quarter"] == quarter) & (hidden["group_id"] == group)
                & (hidden["indicator"] == indicator)).any():
            continue
        values = part["score"].to_numpy(float)
        if indicator == "loneliness_share":
            value = float((values >= 6).mean())
        elif indicator == "willingness_to_lead":
            value = float((values >= 4).mean())
        else:
            value = float(values.mean())
        if round(value, 6) in released or abs(value * 100 - round(value * 100)) < 1e-6:
            continue
        out.add(round(value, 6))
        if indicator in ("loneliness_share", "willingness_to_lead"):
            out.add(round(value * 100, 6))
    return out


def numbers_on(at) -> list[float]:
    """Every number the page shows: metric tiles, table cells, chart data."""
    found: list[float] = []
    for metric in at.metric:
        found += [float(x) for x in NUMBER.findall(f"{metric.value} {metric.delta or ''}")]
    for frame in at.dataframe:
        values = frame.value
        for column in values.columns:
            numeric = pd.to_numeric(values[column], errors="coerce").dropna()
            found += [float(v) for v in numeric]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec) if getattr(chart.proto, "spec", "") else {}
        found += [float(x) for x in _chart_numbers(spec.get("data", []))]
    return [v for v in found if math.isfinite(v)]


def _chart_numbers(node) -> list[float]:
    if isinstance(node, bool):
        return []
    if isinstance(node, int | float):
        return [float(node)]
    if isinstance(node, dict):
        return [x for key, value in node.items() if key not in ("marker", "line")
                for x in _chart_numbers(value)]
    if isinstance(node, list):
        return [x for value in node for x in _chart_numbers(value)]
    return []


def leaked(numbers: list[float], hidden: set[float]) -> list[float]:
    """Shown numbers equal to a hidden value (to the precision a page could show it)."""
    out = []
    for v in numbers:
        if round(v, 6) in hidden:
            out.append(v)
    return out


def selection_values(db, modality: str) -> set[float]:
    """Every survey value the release layer gives the selection of groups of one modality."""
    from hearth.warehouse import published_path
    from metrics import api
    from tests.conftest import sample_config

    with duckdb.connect(str(published_path(db)), read_only=True) as con:
        groups = [g for (g,) in con.execute("SELECT group_id FROM marts.groups WHERE modality = ?",
                                            [modality]).fetchall()]
        pooled = api.slice_indicators_over(con, api.quarters(con), sample_config(), groups)
    return {round(o[field] * scale, 6) for objects in pooled.values()
            for key, o in objects.items() if key in SURVEY_KEYS
            for field in ("value", "ci_low", "ci_high") if o[field] is not None
            for scale in (1, 100)}


@pytest.fixture(scope="module")
def hidden(sample_warehouse):
    values = hidden_values(sample_warehouse)
    assert values, "the sample should hide some survey figures with distinctive values"
    return values


@pytest.mark.parametrize(("audience", "page"), SAMPLE_CASES)  # (no Start page on the sample)
def test_no_page_shows_a_hidden_survey_figure(sample_page, hidden, audience, page):
    at = sample_page(audience, page)  # the render test_every_page_renders_on_the_sample reads
    no_exception(at)
    assert leaked(numbers_on(at), hidden) == []
    # the review draws its charts one section at a time, none at first: read each section too
    for section in REVIEW_SECTIONS if page == "review" else ():
        at = sample_page(audience, page, review_section=section)
        no_exception(at)
        assert leaked(numbers_on(at), hidden) == [], section


@pytest.mark.parametrize("page", ["review", "compare", "coach"])
def test_no_filtered_page_shows_a_hidden_survey_figure(sample_page, sample_warehouse, hidden,
                                                       page):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        modalities = [m for (m,) in con.execute(
            "SELECT DISTINCT modality FROM marts.groups ORDER BY 1").fetchall()]
        small = con.execute(
            "SELECT group_id FROM marts.indicators WHERE status = 'suppressed' "
            "AND indicator = 'peer_support' AND group_id IS NOT NULL LIMIT 1").fetchone()
    audience = "coach" if page == "coach" else "lead"
    for modality in modalities:
        # a released selection's own figure may equal a hidden one by coincidence (answers are
        # on short scales): such a value is released, so it is not looked for
        allowed = selection_values(sample_warehouse, modality)
        state = {"filter_modality": [modality]}
        if page == "review":  # the section the filters apply to (the others are the program's)
            state["review_section"] = "trends"
        if page == "coach" and small:
            state["drilldown_group"] = small[0]
        at = sample_page(audience, page, **state)
        no_exception(at)
        assert leaked(numbers_on(at), hidden - allowed) == [], modality


def rollup_values(db, dimension: str) -> set[float]:
    """Every survey value the read layer gives the roll-up's categories (released figures)."""
    from hearth.warehouse import published_path
    from metrics import api
    from tests.conftest import sample_config

    with duckdb.connect(str(published_path(db)), read_only=True) as con:
        rolled = pd.concat([api.rollup(con, q, sample_config(), dimension)
                            for q in api.quarters(con)])
    survey = rolled[rolled["indicator"].isin(SURVEY_KEYS)]
    return {round(float(v) * scale, 6) for field in ("value", "ci_low", "ci_high")
            for v in survey[field].dropna() for scale in (1, 100)}


@pytest.mark.parametrize("dimension", ["coach", "modality", "language", "tz_band", "cohort"])
def test_no_rollup_shows_a_hidden_survey_figure(monkeypatch, sample_warehouse, hidden, dimension):
    """Compare's roll-ups, with a survey indicator chosen and a row opened: only released
    figures (each category pooled by the selection rule) and the groups' own released ones."""
    allowed = rollup_values(sample_warehouse, dimension)
    for indicator in sorted(SURVEY_KEYS):
        at = open_page(app_for(monkeypatch, sample_warehouse, "council",
                               compare_indicator=indicator, rollup_dimension=dimension,
                               focus_group="g04"), "compare")
        no_exception(at)
        assert leaked(numbers_on(at), hidden - allowed) == [], indicator
