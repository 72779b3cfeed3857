"""The community update passes `hearth privacy-check` and renders offline: on the sample and on
a small synthetic program, in HTML and Markdown.

Two independent checks: the auditor (metrics.audit via `hearth privacy-check`) finds no hidden
figure determined and no figure the update cites that the latest publication does not show; and
every number the update prints for a survey indicator is recomputed here from the release
ledger's entries of that shown figure (release.figures terms -> release.survey_ledger), so the
update cannot print a survey number the auditor did not see.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hearth.calendar import previous_quarter
from hearth.cli import main
from hearth.orchestrate import ingest
from hearth.warehouse import AUDIENCES, published_path
from metrics.definitions import BY_KEY, SURVEY_KEYS
from metrics.going_well import UPDATE_KEYS
from metrics.release import figures_from_stats
from pipelines.synth import synthesize
from tests.conftest import SAMPLE_DIR

SMALL_PROGRAM = dict(members=70, groups=6, quarters=3, seed=20261130)


@pytest.fixture(scope="module")
def programs(sample_warehouse, tmp_path_factory):
    """{name: (warehouse, hearth.toml or None)}: a copy of the sample and a small synthetic
    program, each with an action recorded (the update counts it)."""
    root = tmp_path_factory.mktemp("update_privacy")
    sample = root / "sample" / "hearth.duckdb"
    sample.parent.mkdir()
    shutil.copy(sample_warehouse, sample)
    for audience in AUDIENCES:
        shutil.copy(published_path(sample_warehouse, audience), published_path(sample, audience))
    small = root / "small" / "hearth.duckdb"
    synthesize(root / "small" / "files", **SMALL_PROGRAM)
    summaries = ingest([root / "small" / "files"], db=small, config=_config(None))
    assert not [s.error for s in summaries if s.error]
    out = {"sample": (sample, SAMPLE_DIR / "hearth.toml"), "small program": (small, None)}
    for db, config in out.values():
        assert hearth(db, config, "actions", "add", "--group", "g01", "--what",
                      "Rotate the host", "--indicator", "hosting_breadth") == 0
    return out


def _config(path: Path | None):
    from hearth.config import Config, load_config

    return load_config(path) if path else Config()


def hearth(db: Path, config: Path | None, *args: str) -> int:
    return main(["--db", str(db), *(["--config", str(config)] if config else []), *args])


def released_program_figure(con: duckdb.DuckDBPyConnection, quarter: str,
                            key: str) -> pd.Series | None:
    """The program's figure as the latest publication shows it, recomputed from the ledger
    entries release.figures says it sums; None when it is not shown."""
    found = con.execute(
        "SELECT terms FROM release.figures WHERE publication = (SELECT max(publication) "
        "FROM release.figures) AND quarter = ? AND indicator = ? AND figure = 'program' "
        "AND role = 'shown'", [quarter, key]).fetchall()
    if not found:
        return None
    ledger = con.execute(
        "SELECT n, sum_score, sum_sq, hits, quarter || '|' || unit || '@' || version AS term "
        "FROM release.survey_ledger WHERE indicator = ?", [key]).df()
    part = ledger[ledger["term"].isin(list(found[0][0]))]
    total = part[["n", "sum_score", "sum_sq", "hits"]].sum().to_frame().T
    return figures_from_stats(total.assign(quarter=quarter, indicator=key)).iloc[0]


def whole(x: float) -> str:
    return f"{x:.0f}"


def expected_numbers(key: str, now: pd.Series, before: pd.Series | None,
                     change_shown: bool) -> Counter:
    """The numbers a figure's bullet may print: value, interval and n (in the figure's own
    words: percentages for shares, 'out of 100' for indices) and the change's size."""
    share = BY_KEY[key].kind in ("proportion", "survival")
    scale = 100 if share else 1
    numbers = [whole(scale * now["value"]), whole(scale * now["ci_low"]),
               whole(scale * now["ci_high"]), whole(now["n"])]
    if not share:
        numbers.append("100")  # "out of 100"
    if change_shown and before is not None:
        delta = abs(now["value"] - before["value"])
        numbers.append(whole(scale * delta))
        if not share:
            numbers.append("100")  # "points (out of 100)"
    return Counter(numbers)


def numbers_in(line: str) -> Counter:
    return Counter(re.findall(r"\d+", re.sub(r"\b\d{4}Q[1-4]\b", "", line)))


@pytest.mark.parametrize("program", ["sample", "small program"])
def test_the_update_passes_the_privacy_check_and_prints_only_released_figures(
        programs, program, capsys, tmp_path):
    db, config = programs[program]
    rendered = {}
    for fmt in ("md", "html"):
        out = tmp_path / f"update.{fmt}"
        assert hearth(db, config, "update", "--format", fmt, "--out", str(out)) == 0
        rendered[fmt] = out.read_text(encoding="utf-8")
    capsys.readouterr()
    assert hearth(db, config, "privacy-check", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["determined_hidden"] == []
    assert report["community_update"]["problems"] == []
    assert report["community_update"]["cited"] > 0

    md, page = rendered["md"], rendered["html"]
    quarter = re.search(r"community update, (\d{4}Q[1-4])", md).group(1)
    bullets_md = [line[2:].replace("\\", "") for line in md.splitlines() if line.startswith("- ")]
    bullets_html = [html.unescape(b) for b in re.findall(r"<li>(.*?)</li>", page)]
    assert bullets_md == bullets_html  # one update, two formats
    con = duckdb.connect(str(db), read_only=True)
    try:
        checked = 0
        for key in (k for k in UPDATE_KEYS if k in SURVEY_KEYS):
            title = BY_KEY[key].title
            lines = [b for b in bullets_md if b.startswith(f"{title}: ")]
            assert len(lines) == 1
            now = released_program_figure(con, quarter, key)
            if now is None:
                assert re.search(r"\d", lines[0].removeprefix(f"{title}: ")) is None
                continue
            before = released_program_figure(con, previous_quarter(quarter), key)
            clear = " since last quarter, a clear change" in lines[0]
            assert numbers_in(lines[0]) == expected_numbers(key, now, before, clear), lines[0]
            checked += 1
            for moved in (b for b in bullets_md if re.match(rf"{re.escape(title)} (rose|fell) by", b)):
                share = BY_KEY[key].kind in ("proportion", "survival")
                delta = (100 if share else 1) * abs(now["value"] - before["value"])
                assert numbers_in(moved) == Counter(
                    [whole(delta), *([] if share else ["100"])]), moved
        assert checked >= 1
        quotes = [b.strip("“”") for b in bullets_md if b.startswith("“")]
        released = set(con.execute("SELECT comment FROM marts.comments WHERE quarter = ? "
                                   "AND group_id IS NULL", [quarter]).df()["comment"])
        assert {q[:280] for q in quotes} <= {c[:280] for c in released}
    finally:
        con.close()


@pytest.mark.parametrize("program", ["sample", "small program"])
def test_the_html_update_opens_offline(programs, program, tmp_path):
    db, config = programs[program]
    out = tmp_path / "update.html"
    assert hearth(db, config, "update", "--format", "html", "--out", str(out)) == 0
    page = out.read_text(encoding="utf-8")
    # nothing fetched from anywhere: no scripts, stylesheets, fonts, images or frames
    assert not re.search(r"<(script|link|img|iframe|object|embed|source)\b", page, flags=re.I)
    assert not re.search(r"""\b(src|href|srcset|action)\s*=|url\(|@import|@font-face""", page,
                         flags=re.I)
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, flags=re.I)
    assert "<style>" in page  # the look travels inside the file
