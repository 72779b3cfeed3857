"""Downloads from the dashboard: formula-safe CSV and the self-contained HTML report."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.exports import csv_bytes, neutralise_cell, neutralise_frame
from dashboard.launch import streamlit_command
from dashboard.report import Report, Tile

ROOT = Path(__file__).resolve().parents[1]


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


def test_every_line_inside_a_cell_is_neutralised_and_every_cell_quoted():
    """Attack (issue 8): a carriage return inside a cell started a new row beginning with =."""
    frame = pd.DataFrame({
        "comment": ["fine\r=HYPERLINK(\"http://x\",\"y\")", "a\n@A1", "b\r\n  +SUM(A1:A9)",
                    "c\n\t-2+3", "d\n\tindented", "ok\nstill ok"],
        "n": [1, 2, 3, 4, 5, 6],
    })
    text = csv_bytes(frame).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["comment", "n"],
        ["fine\r'=HYPERLINK(\"http://x\",\"y\")", "1"],
        ["a\n'@A1", "2"],
        ["b\r\n'  +SUM(A1:A9)", "3"],
        ["c\n'\t-2+3", "4"],
        ["d\n'\tindented", "5"],
        ["ok\nstill ok", "6"],
    ]
    # Every cell quoted: no raw line break can end a row early in any spreadsheet.
    assert text.startswith('"comment","n"')
    for line in re.split(r"\r\n|\r|\n", text):  # as a spreadsheet may split the rows
        assert not line.lstrip(' \t"').startswith(("=", "+", "-", "@")), line


def test_full_width_formula_signs_are_neutralised_too():
    assert neutralise_cell("\uff1dSUM(A1)") == "'\uff1dSUM(A1)"
    assert neutralise_cell(" \t@A1") == "' \t@A1"
    assert neutralise_cell(3) == 3


@pytest.mark.parametrize("cell", [
    # red team, session 19: invisible or unusual blanks before the sign, odd line breaks, and
    # small-form signs were written raw
    "\u00a0=HYPERLINK(\"http://x\")", "\u200b@A1", "\ufeff+SUM(A1)", "\u3000-2+3",
    "fine\u2028=HYPERLINK(\"http://x\")", "fine\x0b@A1", "fine\x0c+1", "fine\x85=1",
    "fine\u2029 =1", "\ufe66SUM(A1)", "\ufe62SUM(A1)", "\u2212SUM(A1)",
])
def test_a_formula_behind_unusual_blanks_or_line_breaks_is_neutralised(cell):
    out = neutralise_cell(cell)
    for line in re.split("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", out):
        assert line == "" or line.startswith("'") or not line.strip(
            "\u00a0\u200b\ufeff\u3000 \t").startswith(
            ("=", "+", "-", "@", "\ufe66", "\ufe62", "\u2212")), (cell, out)
    assert out != cell


def test_the_table_toolbar_download_is_off_however_the_dashboard_starts(tmp_path):
    """Attack (issue 8): Streamlit's own 'Download as CSV' wrote =HYPERLINK(...) raw."""
    command, _ = streamlit_command(tmp_path / "w.duckdb", "lead", 8777)
    assert command[command.index("--client.disableDataExport") + 1] == "true"
    app = (ROOT / "dashboard" / "app.py").read_text(encoding="utf-8")
    assert 'st.set_option("client.disableDataExport", True)' in app


def test_every_table_goes_through_the_one_neutralised_download():
    """No page shows a table (whose toolbar could export it) or a CSV except through dashboard.ui."""
    offenders = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        if path.name in {"ui.py", "exports.py"}:
            continue
        text = path.read_text(encoding="utf-8")
        for call in ("st.dataframe(", "st.data_editor(", "st.table(", ".to_csv(", "st.vega_lite_chart(",
                     "st.altair_chart(", "st.line_chart(", "st.bar_chart(", "st.area_chart("):
            if call in text:
                offenders.append(f"{path.relative_to(ROOT)}: {call}")
    assert offenders == []


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
