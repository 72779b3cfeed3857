"""The community update and the review-cycle commands, on a copy of the sample warehouse."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from dashboard.community_update import render, to_html, to_markdown
from hearth.cli import main
from hearth.warehouse import AUDIENCES, published_path
from tests.conftest import SAMPLE_DIR


def private_copy(db: Path, folder: Path) -> Path:
    """A copy of a warehouse with every audience's snapshot, as a publish leaves them."""
    copy = folder / "hearth.duckdb"
    shutil.copy(db, copy)
    for audience in AUDIENCES:
        shutil.copy(published_path(db, audience), published_path(copy, audience))
    return copy


@pytest.fixture
def warehouse(sample_warehouse, tmp_path):
    """A private copy: these tests write actions and sign-offs beside it."""
    return private_copy(sample_warehouse, tmp_path)


def hearth(db, *args) -> int:
    return main(["--db", str(db), "--config", str(SAMPLE_DIR / "hearth.toml"), *args])


def names_in(db) -> set[str]:
    """Every group id and name, member name and email the warehouse knows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = set()
        for sql in ("SELECT group_id, name FROM core.groups", "SELECT name, email FROM core.members"):
            for row in con.execute(sql).fetchall():
                found.update(v for v in row if v)
        return found
    finally:
        con.close()


def test_the_update_is_aggregate_only_and_renders_offline(warehouse, capsys):
    assert hearth(warehouse, "actions", "add", "--group", "g11", "--what",
                  "Ask Owen Harper to co-host", "--indicator", "hosting_breadth") == 0
    capsys.readouterr()
    out = {}
    for fmt in ("md", "html"):
        assert hearth(warehouse, "update", "--format", fmt) == 0
        out[fmt] = capsys.readouterr().out
    html, md = out["html"], out["md"]
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?:""", html, flags=re.I)
    assert not re.search(r"https?:", md)
    for text in (html, md):
        assert "Shared leadership: 1 action" in text
        assert "Ask Owen" not in text
        leaked = {name for name in names_in(warehouse) if len(name) > 3 and name in text}
        assert leaked == set()
    assert "How we are doing" in md and "about " in md and "most likely between" in md


def test_text_from_the_data_cannot_become_markup_in_either_format():
    update = {"program": "Circles <b>", "quarter": "2026Q3", "figures": [], "progress": [],
              "groups_recognised": 0, "k": 5,
              "doing": {"by_theme": {}, "by_status": {}, "total": 0},
              "quotes": ["<img src=x onerror=alert(1)> see [this](javascript:alert(1)) **now**"]}
    html = to_html(update)
    assert "<img" not in html and "&lt;img src=x" in html and "<b>" not in html
    md = to_markdown(update)
    assert "\\<img" in md and "\\[this\\]" in md and "\\*\\*now\\*\\*" in md
    with pytest.raises(ValueError, match="choose one of md, html"):
        render(update, "pdf")


def test_a_comment_written_several_times_is_quoted_once(monkeypatch):
    import pandas as pd

    from hearth.config import Config
    from metrics import going_well
    from metrics.presentation import comment_key

    # "Thanks" nine times over, three others: the quotes are three different comments (a page
    # lists the nine as one, written nine times)
    said = ["Thanks!", "thanks", "THANKS."] * 3 + ["More time, please", "Glad I came.",
                                                    "The check-in round works."]
    monkeypatch.setattr(going_well.api, "comments",
                        lambda con, quarter, group_ids: pd.DataFrame({"comment": said}))
    for quarter in ("2025Q1", "2025Q2", "2025Q3"):  # (the hash's order differs by quarter)
        quotes = going_well._quotes(None, quarter, Config())
        assert len(quotes) == going_well.MAX_QUOTES == 3
        assert len({comment_key(q) for q in quotes}) == 3


def test_actions_commands_add_update_list_and_show_the_follow_up(warehouse, capsys):
    assert hearth(warehouse, "actions", "add", "--group", "g11", "--flag", "low_safety",
                  "--quarter", "2026Q2", "--what", "Coach sits in", "--due", "2026-09-30",
                  "--json") == 0
    added = json.loads(capsys.readouterr().out)[0]
    assert (added["indicators"], added["theme"]) == (["psychological_safety"], "How members feel")
    assert hearth(warehouse, "actions", "update", str(added["action_id"]), "--status",
                  "doing") == 0
    assert "[doing]" in capsys.readouterr().out
    assert hearth(warehouse, "actions", "list", "--status", "doing", "--json") == 0
    assert [a["action_id"] for a in json.loads(capsys.readouterr().out)] == [added["action_id"]]
    assert hearth(warehouse, "actions", "show", str(added["action_id"])) == 0
    shown = capsys.readouterr().out
    assert "2026Q2" in shown and "(before)" in shown and "2026Q3" in shown
    assert hearth(warehouse, "actions", "show", str(added["action_id"]), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert [h["field"] for h in report["history"]][-1] == "status"


def test_actions_commands_fail_in_one_line(warehouse, capsys):
    assert hearth(warehouse, "actions", "update", "99", "--status", "done") == 2
    err = capsys.readouterr().err
    assert err.strip() == "hearth: no action 99; `hearth actions list` shows the ones you can see"
    assert hearth(warehouse, "actions", "add", "--group", "g11", "--what", "x",
                  "--indicator", "happiness") == 2
    assert "unknown indicator 'happiness'; choose from attendance_rate" in capsys.readouterr().err


def test_signoff_keeps_the_figures_and_check_says_nothing_changed(warehouse, capsys):
    assert hearth(warehouse, "signoff", "--check", "--quarter", "2026Q2") == 2
    assert "has not been signed off" in capsys.readouterr().err
    assert hearth(warehouse, "signoff", "--quarter", "2026Q2", "--note", "Reviewed with council") == 0
    assert "signed off 2026Q2" in capsys.readouterr().out
    assert hearth(warehouse, "signoff", "--check", "--quarter", "2026Q2") == 0
    assert "nothing has changed since the sign-off" in capsys.readouterr().out


def test_an_earlier_quarters_update_names_the_programs_own_progress(warehouse, capsys):
    # The program's rows once reached going_well with a NaN group id: counted as a group,
    # missing from "What changed", and the sort of the groups failed for 2025Q3 and 2026Q2.
    assert hearth(warehouse, "update", "--quarter", "2026Q2") == 0
    text = capsys.readouterr().out
    assert "- Belonging rose by 4 points (out of 100) since 2026Q1" in text
