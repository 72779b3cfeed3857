"""Settling a publication against earlier ones (metrics.release.settle_against_history): the
auditor's passes are skipped only when they cannot find anything, and the result is the same."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from hearth.warehouse import connect
from metrics import audit, release
from metrics.refresh import refresh
from metrics.release import FIGURE_COLUMNS, settle_against_history
from tests.conftest import sample_config

Q = "2025Q4"

# one quarter, one indicator: the program, two shown groups, two hidden ones (secondary)
EARLIER = [
    (1, Q, "belonging", "program", "shown", [f"{Q}|{u}@1" for u in "abcd"]),
    (1, Q, "belonging", "group:a", "shown", [f"{Q}|a@1"]),
    (1, Q, "belonging", "group:b", "shown", [f"{Q}|b@1"]),
    (1, Q, "belonging", "group:c", "hidden", [f"{Q}|c@1"]),
    (1, Q, "belonging", "group:d", "hidden", [f"{Q}|d@1"]),
]


@pytest.fixture()
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    con.executemany("INSERT INTO release.figures VALUES (?, ?, ?, ?, ?, ?)", EARLIER)
    yield con
    con.close()


def _current(rows):
    return pd.DataFrame([(2, *r[1:], n) for r, n in zip(rows, [np.inf, 9, 8, 3, 6],
                                                         strict=True)],
                        columns=[*FIGURE_COLUMNS, "n"])


def _counting(monkeypatch):
    calls = []

    def determined(figures):
        calls.append(len(figures))
        return audit.determined_hidden(figures)

    monkeypatch.setattr(release, "determined_hidden", determined)
    return calls


def test_a_publication_repeating_the_settled_one_needs_no_pass(con, monkeypatch):
    calls = _counting(monkeypatch)
    settled = settle_against_history(con, _current(EARLIER))
    assert calls == []
    assert settled["role"].tolist() == [r[4] for r in EARLIER]
    assert (settled["role"] == settled["was"]).all()


def test_a_publication_showing_a_new_sum_is_solved_and_settled(con, monkeypatch):
    # d's entry moved (version 2) and is shown now: program@1 - a - b - d@1 ... still hides c,
    # but the new program sum with d@2 shown alone gives c away unless more is hidden
    rows = [
        (1, Q, "belonging", "program", "shown", [f"{Q}|a@1", f"{Q}|b@1", f"{Q}|c@1",
                                                f"{Q}|d@2"]),
        (1, Q, "belonging", "group:a", "shown", [f"{Q}|a@1"]),
        (1, Q, "belonging", "group:b", "shown", [f"{Q}|b@1"]),
        (1, Q, "belonging", "group:c", "hidden", [f"{Q}|c@1"]),
        (1, Q, "belonging", "group:d", "shown", [f"{Q}|d@2"]),
    ]
    calls = _counting(monkeypatch)
    settled = settle_against_history(con, _current(rows))
    assert calls  # the auditor ran
    everything = pd.concat([release_history(con), settled[list(FIGURE_COLUMNS)]],
                           ignore_index=True)
    assert audit.determined_hidden(everything) == []
    assert (settled["role"] == "hidden").sum() >= 2  # c, and what protects it


def release_history(con):
    return con.execute("SELECT publication, quarter, indicator, figure, role, terms "
                       "FROM release.figures").df()


def test_an_unchanged_figure_is_recorded_once_whatever_order_its_units_come_in(
        sample_warehouse, tmp_path):
    # record_figures drops an earlier row saying exactly what a new one says; the program's
    # entries came in the units' order, which changes between refreshes, so an unchanged
    # program figure was kept again at every publication (45 of the 49 program rows of the
    # reference warehouse's three publications were unsorted)
    db = tmp_path / "hearth.duckdb"
    shutil.copy2(sample_warehouse, db)
    con = connect(db)
    try:
        config = sample_config()
        for _ in range(2):  # two publications repeating the sample's
            refresh(con, config)
        repeated = con.execute(
            "SELECT quarter, indicator, figure, role, terms, count(*) FROM release.figures "
            "GROUP BY ALL HAVING count(*) > 1").fetchall()
        program = con.execute("SELECT terms FROM release.figures WHERE figure = 'program'"
                              ).fetchall()
    finally:
        con.close()
    assert repeated == []
    assert all(list(t) == sorted(t) for (t,) in program)
