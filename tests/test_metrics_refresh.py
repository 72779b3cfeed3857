"""`hearth refresh`: every marts table rebuilt in one transaction, the same every time."""

from __future__ import annotations

import pytest

from hearth.cli import main
from hearth.config import Config
from hearth.warehouse import connect
from metrics import refresh as refresh_module
from metrics.refresh import MART_TABLES, refresh
from tests.metrics_world import World


def small_world(con) -> World:
    w = World(con).group("g1", "2025-01-06")
    for m in "abc":
        w.member(m, "g1", "2025-01-06")
    s = w.sessions("g1", "2025-01-06", 4, hosts=["a", "b"])
    w.pattern("a", s, "AAAA").pattern("b", s, "AA.A").pattern("c", s, "A.E.")
    return w


def test_refresh_builds_every_marts_table_and_is_repeatable(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    small_world(con)
    first = refresh(con, Config())
    snapshot = con.execute("SELECT * FROM marts.indicators ORDER BY ALL").fetchall()
    second = refresh(con, Config())
    assert set(first) == set(MART_TABLES) and first == second
    assert con.execute("SELECT * FROM marts.indicators ORDER BY ALL").fetchall() == snapshot
    tables = {t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
    ).fetchall()}
    assert tables == set(MART_TABLES)


def test_a_failing_refresh_leaves_the_previous_marts(tmp_path, monkeypatch):
    con = connect(tmp_path / "w.duckdb")
    small_world(con)
    refresh(con, Config())
    before = con.execute("SELECT * FROM marts.session_attendance ORDER BY ALL").fetchall()
    con.execute("INSERT INTO core.attendance VALUES ('g1-s2', 'c', 'attended', 60, 1)")

    def broken(*_args, **_kwargs):
        raise RuntimeError("statistics step failed")

    monkeypatch.setattr(refresh_module, "build_flags", broken)
    with pytest.raises(RuntimeError, match="statistics step failed"):
        refresh(con, Config())
    assert con.execute("SELECT * FROM marts.session_attendance ORDER BY ALL").fetchall() == before


def test_refresh_on_an_empty_warehouse_builds_empty_marts(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    counts = refresh(con, Config())
    assert counts == {name: 0 for name in MART_TABLES}


def test_refresh_command_prints_rows_per_table_and_publishes(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    con = connect(db)
    small_world(con)
    con.close()
    assert main(["--db", str(db), "refresh"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "marts.session_attendance: 4 rows" in out
    assert all((tmp_path / f"w.{a}.published.duckdb").exists() for a in ("lead", "council", "coach"))


def test_review_on_a_warehouse_without_data_says_what_to_do(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    connect(db).close()
    assert main(["--db", str(db), "review"]) == 2
    assert capsys.readouterr().err.strip() == (
        "hearth: the warehouse has no indicators yet; load data with `hearth ingest` or run "
        "`hearth refresh`")
