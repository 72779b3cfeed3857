"""The state store: SQLite in WAL mode beside the warehouse, migrated once, writable during a load."""

import os
import stat

import duckdb

from hearth import state


def test_the_state_store_lives_beside_the_warehouse_and_only_its_owner_reads_it(tmp_path):
    db = tmp_path / "program" / "hearth.duckdb"
    with state.state(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    path = tmp_path / "program" / "hearth.state.sqlite"
    assert state.state_path(db) == path and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_migrations_run_once(tmp_path):
    db = tmp_path / "hearth.duckdb"
    with state.state(db) as con:
        versions = [v for (v,) in con.execute("SELECT version FROM migrations")]
        assert state.migrate(con) == []
    with state.state(db) as con:
        assert [v for (v,) in con.execute("SELECT version FROM migrations")] == versions


def test_events_are_recorded_newest_first_with_their_detail(tmp_path):
    db = tmp_path / "hearth.duckdb"
    with state.state(db) as con:
        state.record(con, "lead@example.org", "upload", "zoom.csv", rows_read=12, rows_loaded=11)
        state.record(con, "lead@example.org", "signoff", "2026Q3")
        found = state.events(con)
    assert [(e["action"], e["subject"]) for e in found] == [("signoff", "2026Q3"),
                                                             ("upload", "zoom.csv")]
    assert found[1]["detail"] == {"rows_loaded": 11, "rows_read": 12}
    assert found[1]["actor"] == "lead@example.org"


def test_the_audit_log_takes_writes_while_a_load_holds_the_warehouse_lock(tmp_path):
    db = tmp_path / "hearth.duckdb"
    writer = duckdb.connect(str(db))  # an ingest holds DuckDB's single write lock
    try:
        writer.execute("BEGIN TRANSACTION")
        writer.execute("CREATE TABLE t AS SELECT 1 AS x")
        with state.state(db) as con:
            state.record(con, "lead@example.org", "upload", "late.csv")
            assert len(state.events(con, "upload")) == 1
    finally:
        writer.close()
