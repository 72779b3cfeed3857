"""Downloads from the dashboard: formula-safe CSV and the self-contained HTML report."""

from __future__ import annotations

import csv
import io

import pandas as pd
import plotly.graph_objects as go

from dashboard.exports import csv_bytes, neutralise_frame
from dashboard.report import Report, Tile


def test_csv_cells_that_start_like_a_formula_are_neutralised():
    frame = pd.DataFrame({
        "comment": ["=HYPERLINK(\"http://x\")", "+1 call me", "-rm", "@SUM(A1)", "fine", None],
        "change": [-3.5, 1.0, 0.0, 2.0, -1.0, 4.0],
    })
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8-sig"))))
    assert rows == [
        ["comment", "change"],
        ["'=HYPERLINK(\"http://x\")", "-3.5"],
        ["'+1 call me", "1.0"],
        ["'-rm", "0.0"],
        ["'@SUM(A1)", "2.0"],
        ["fine", "-1.0"],
        ["", "4.0"],
    ]


def test_numbers_keep_their_sign_and_text_columns_keep_their_values():
    frame = pd.DataFrame({"name": pd.Series(["Circle", "-Dash"], dtype="string"),
                          "delta": [-2, 3]})
    out = neutralise_frame(frame)
    assert out.to_dict("list") == {"name": ["Circle", "'-Dash"], "delta": [-2, 3]}


def test_report_embeds_plotly_once_and_escapes_every_text():
    report = Report(title="Review <2025Q3>", subtitle="Program & friends")
    report.tiles([Tile("Belonging", "71", "can't tell yet", "unknown")])
    report.bullets(["<script>alert(1)</script> rose"])
    report.chart(go.Figure(go.Bar(x=["a"], y=[1])), "first")
    report.chart(go.Figure(go.Bar(x=["b"], y=[2])), "second")
    report.table(pd.DataFrame({"group": ["<b>g1</b>"], "value": [1.5]}))
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("Plotly.newPlot") == 2
    assert page.count("plotly.js v") == 1  # the library itself appears once, inline
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; rose" in page
    assert "Review &lt;2025Q3&gt;" in page and "&lt;b&gt;g1&lt;/b&gt;" in page
    assert "<script src=" not in page  # nothing fetched from the network when opened
