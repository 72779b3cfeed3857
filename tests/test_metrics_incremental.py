"""Incremental refresh: after one more week of data, rebuilding only the quarters it touches gives
exactly the marts a full refresh gives.

The synthetic sample community (data/sample, 20 groups over six quarters) is loaded up to a
cut-off day; then one more week of sessions, attendance, buddy check-ins and survey responses
is loaded and refreshed from the quarter it starts in; then the same warehouse is refreshed in
full, and every marts table is compared row for row. The cut-offs are chosen for the figures
that reach across quarters: change against the previous quarter, a newcomer's next 3 sessions,
4 consecutive missed sessions, "as of" dates that move with the data's end, flags that look two
quarters back, and quarters pooled in pairs for small groups.
"""

from __future__ import annotations

import csv
import math
import shutil
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from hearth import orchestrate
from hearth.config import Config
from hearth.errors import HearthError
from hearth.orchestrate import ingest
from hearth.warehouse import connect
from metrics.refresh import KEPT_TABLES, MART_TABLES, refresh, touched_since
from tests.conftest import SAMPLE_DIR, sample_config

DATED = {  # file -> the column whose date decides the week a row belongs to
    "sessions.csv": "starts_at",
    "buddy_checkins.csv": "checked_in_at",
    "survey_responses.csv": "submitted_at",
}


def _split(out: Path, cutoff: date) -> tuple[Path, Path]:
    """data/sample as two folders: everything before `cutoff`, and the week from it."""
    end = cutoff + timedelta(days=7)
    before, week = out / "before", out / "week"
    before.mkdir()
    week.mkdir()
    session_day: dict[str, date] = {}
    for name in ("groups.csv", "members.csv", "sessions.csv", "attendance.csv",
                 "buddy_checkins.csv", "survey_responses.csv"):
        with open(SAMPLE_DIR / name, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        if name in DATED:
            col = header.index(DATED[name])
            day = [date.fromisoformat(r[col][:10]) for r in body]
            if name == "sessions.csv":
                session_day = {r[0]: d for r, d in zip(body, day, strict=True)}
        elif name == "attendance.csv":
            day = [session_day[r[0]] for r in body]
        else:
            (before / name).write_text((SAMPLE_DIR / name).read_text(encoding="utf-8"),
                                       encoding="utf-8")
            continue
        for folder, keep in ((before, lambda d: d < cutoff),
                             (week, lambda d: cutoff <= d < end)):
            with open(folder / name, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(header)
                writer.writerows(r for r, d in zip(body, day, strict=True) if keep(d))
    return before, week


def _marts(con) -> dict[str, list[tuple]]:
    """Every marts table, rows sorted, NaN made comparable, floats to 9 decimals: the program's
    survey figures are sums over the release units, which DuckDB may add in another order, so
    the last bits of a double can differ between two equally correct refreshes."""
    def clean(value):
        if isinstance(value, float):
            return "NaN" if math.isnan(value) else round(value, 9)
        return value
    return {name: sorted((tuple(clean(v) for v in row)
                          for row in con.execute(f"SELECT * FROM marts.{name}").fetchall()),
                         key=repr)
            for name in MART_TABLES}


def _load(folder: Path, db: Path, config: Config) -> list[int]:
    summaries = ingest([folder], db=db, config=config, refresh_after=False)
    assert not [s.error for s in summaries if s.error]
    return [s.load_id for s in summaries if s.rows_loaded]


SCENARIOS = {
    # a week in the middle of a quarter: only that quarter is rebuilt
    "mid-quarter": (date(2026, 8, 10), {}, "2026Q2"),
    # the first week of a quarter: the previous quarter's "as of" day moves to its last day
    "new quarter": (date(2026, 7, 1), {}, "2026Q2"),
    # the week the quarter's survey comes in, small groups pooled over Q1+Q2
    "survey week, pooled": (date(2026, 6, 22), {"pool_quarters": True}, "2026Q1"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_one_more_week_refreshed_incrementally_equals_a_full_refresh(tmp_path, scenario):
    cutoff, settings, kept_before = SCENARIOS[scenario]
    config = replace(sample_config(), **settings)
    before, week = _split(tmp_path, cutoff)
    db = tmp_path / "w.duckdb"
    _load(before, db, config)
    con = connect(db)
    refresh(con, config)
    # a mark on a row the incremental refresh must keep as it is (so we can see it was kept)
    con.execute("UPDATE marts.indicators SET note = 'kept' WHERE quarter < ? "
                "AND group_id IS NULL AND indicator = 'attendance_rate'", [kept_before])
    marked = con.execute("SELECT count(*) FROM marts.indicators WHERE note = 'kept'").fetchone()[0]
    assert marked > 0
    # ... and a resolved flag of a kept quarter: the incremental refresh keeps it as it is
    # (resolving needs every earlier quarter's groups, which it does not read)
    resolved = ("2025Q1", "g-kept", "single_host", "kept", "{}", "2024Q4", "resolved", 1)
    con.execute("INSERT INTO marts.flags VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(resolved))
    con.close()

    loads = _load(week, db, config)
    con = connect(db)
    since = touched_since(con, config, loads)
    assert since == f"{cutoff.year}Q{(cutoff.month - 1) // 3 + 1}"
    refresh(con, config, since=since)
    assert con.execute("SELECT count(*) FROM marts.indicators WHERE note = 'kept'"
                       ).fetchone()[0] == marked
    con.execute("UPDATE marts.indicators SET note = NULL WHERE note = 'kept'")
    assert con.execute("SELECT * FROM marts.flags WHERE group_id = 'g-kept'").fetchall() \
        == [resolved]
    con.execute("DELETE FROM marts.flags WHERE group_id = 'g-kept'")
    incremental = _marts(con)

    refresh(con, config)
    full = _marts(con)
    con.close()
    for name in MART_TABLES:
        assert incremental[name] == full[name], f"marts.{name} differs"
    assert full["indicators"] and full["flags"] and full["watchlist"]


def test_an_incremental_refresh_without_marts_to_build_on_rebuilds_everything(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    counts = refresh(con, Config(), since="2025Q3")
    assert counts == {name: 0 for name in MART_TABLES}


def test_a_quarter_that_is_not_one_is_refused(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    with pytest.raises(HearthError, match="'2025-07' is not a quarter; give one like 2025Q3"):
        refresh(con, Config(), since="2025-07")


def test_ingest_refreshes_from_the_first_quarter_of_the_rows_it_loaded(tmp_path, monkeypatch):
    config = sample_config()
    before, week = _split(tmp_path, date(2026, 8, 10))
    db = tmp_path / "w.duckdb"
    ingest([before], db=db, config=config)
    calls = []
    real = orchestrate.refresh

    def recording(con, config, since=None):
        calls.append(since)
        return real(con, config, since=since)

    monkeypatch.setattr(orchestrate, "refresh", recording)
    ingest([week], db=db, config=config)
    assert calls == ["2026Q3"]
    ingest([week], db=db, config=config)  # nothing new: no refresh at all
    assert calls == ["2026Q3"]
    # a new group changes every quarter's breakdowns: everything is rebuilt
    groups = (SAMPLE_DIR / "groups.csv").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "groups.csv").write_text(
        groups + "\ng99,New Circle,video,en,Europe/London,7,,2026-09-01,scale_up\n",
        encoding="utf-8")
    ingest([tmp_path / "groups.csv"], db=db, config=config)
    assert calls == ["2026Q3", None]


def test_marts_built_under_other_settings_are_rebuilt_in_full(sample_warehouse, tmp_path):
    config = sample_config()
    db = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, db)  # the sample loaded and refreshed under `config`
    con = connect(db)
    con.execute("UPDATE marts.indicators SET note = 'old' WHERE quarter = '2025Q2'")
    stricter = replace(config, min_responses=7)
    refresh(con, stricter, since="2026Q3")  # k changed: every quarter's suppression changes
    assert con.execute("SELECT count(*) FROM marts.indicators WHERE note = 'old'"
                       ).fetchone()[0] == 0
    con.execute("UPDATE marts.indicators SET note = 'old' WHERE quarter = '2025Q2'")
    refresh(con, stricter, since="2026Q3")  # same settings again: earlier quarters kept
    assert con.execute("SELECT count(*) FROM marts.indicators WHERE note = 'old'"
                       ).fetchone()[0] > 0


def _kept(con) -> dict[str, list[tuple]]:
    return {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in KEPT_TABLES}


def test_a_late_attendance_row_in_an_old_quarter_still_gives_the_full_refresh_marts(tmp_path):
    # the attendance bits of sessions before the new data's quarter are kept between
    # refreshes: a row that arrives late for an old session must move that quarter back
    config = sample_config()
    before, week = _split(tmp_path, date(2026, 8, 10))
    tables = {}
    for folder in (before, week):
        with open(folder / "attendance.csv", newline="", encoding="utf-8") as f:
            tables[folder] = list(csv.reader(f))
    late = next(r for r in tables[before][1:]
                if r[0].startswith("g03-2025-11-") and r[2] == "attended")
    tables[before].remove(late)
    tables[week].append(late)
    for folder, rows in tables.items():
        with open(folder / "attendance.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
    db = tmp_path / "w.duckdb"
    _load(before, db, config)
    con = connect(db)
    refresh(con, config)
    con.close()

    loads = _load(week, db, config)
    con = connect(db)
    since = touched_since(con, config, loads)
    assert since == "2025Q4"
    refresh(con, config, since=since)
    incremental, kept = _marts(con), _kept(con)
    refresh(con, config)
    full = _marts(con)
    con.close()
    for name in MART_TABLES:
        assert incremental[name] == full[name], f"marts.{name} differs"
    assert kept == _kept(connect(db)), "the kept attendance bits differ from a full refresh's"


def test_an_incremental_refresh_reads_the_attendance_of_the_new_quarters_only(
        sample_warehouse, tmp_path):
    config = sample_config()
    db = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, db)
    con = connect(db)
    # a mark on an old session's kept counts: an incremental refresh keeps it (it does not
    # read that session's attendance again); a full refresh reads everything again
    old = con.execute("SELECT session_id FROM kept.session_rows JOIN core.sessions "
                      "USING (session_id) WHERE session_date < DATE '2026-01-01' LIMIT 1"
                      ).fetchone()[0]
    con.execute("UPDATE kept.session_rows SET attended = attended + 100 WHERE session_id = ?",
                [old])
    marked = con.execute("SELECT attended FROM kept.session_rows WHERE session_id = ?",
                         [old]).fetchone()[0]
    refresh(con, config, since="2026Q3")
    assert con.execute("SELECT attended FROM kept.session_rows WHERE session_id = ?",
                       [old]).fetchone()[0] == marked
    refresh(con, config)
    assert con.execute("SELECT attended FROM kept.session_rows WHERE session_id = ?",
                       [old]).fetchone()[0] == marked - 100


def test_marts_without_kept_attendance_bits_are_rebuilt_in_full(sample_warehouse, tmp_path):
    # a warehouse refreshed before the bits were kept: nothing to build on
    db = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, db)
    con = connect(db)
    con.execute("DROP SCHEMA kept CASCADE")
    con.execute("UPDATE marts.indicators SET note = 'old' WHERE quarter = '2025Q2'")
    refresh(con, sample_config(), since="2026Q3")
    assert con.execute("SELECT count(*) FROM marts.indicators WHERE note = 'old'"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM kept.pair_bits").fetchone()[0] > 0


def test_kept_tables_of_an_older_layout_are_replaced_by_a_full_refresh(sample_warehouse, tmp_path):
    # kept.session_rows once held one row per session (no loaded file, no row count): such a
    # warehouse cannot be refreshed in part, and its full refresh keeps the new layout
    db = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, db)
    con = connect(db)
    full = _marts(con)
    con.execute("DROP TABLE kept.session_rows")
    con.execute("CREATE TABLE kept.session_rows (session_id VARCHAR, attended BIGINT, "
                "excused BIGINT)")
    con.execute("UPDATE marts.indicators SET note = 'old' WHERE quarter = '2025Q2'")
    refresh(con, sample_config(), since="2026Q3")
    assert con.execute("SELECT count(*) FROM marts.indicators WHERE note = 'old'"
                       ).fetchone()[0] == 0
    assert [c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'kept' "
        "AND table_name = 'session_rows' ORDER BY column_index").fetchall()] == \
        list(KEPT_TABLES["kept.session_rows"][1])
    assert _marts(con) == full
