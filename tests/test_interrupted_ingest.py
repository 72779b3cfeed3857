"""Killing `hearth ingest` mid-file leaves the warehouse as it was; re-running completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from benchmarks.ingest import write_reference_files


@pytest.mark.slow  # 1.5 million rows written and loaded twice: CI runs it after make test
def test_killing_an_ingest_mid_file_leaves_the_warehouse_as_it_was(tmp_path):
    attendance = write_reference_files(tmp_path, rows=1_500_000)
    db = tmp_path / "w.duckdb"
    cli = [sys.executable, "-m", "hearth.cli", "--db", str(db), "ingest", "--no-refresh"]
    subprocess.run(cli + [str(tmp_path / n) for n in ("groups.csv", "members.csv", "sessions.csv")],
                   check=True, capture_output=True)
    before = snapshot(db)
    size = db.stat().st_size

    proc = subprocess.Popen(cli + [str(attendance)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # DuckDB writes a large insert's blocks into the file before COMMIT: once the file grows,
    # the load is under way but not committed. That is the moment to pull the plug.
    deadline = time.monotonic() + 120
    while db.stat().st_size == size and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the ingest finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert snapshot(db) == before
    done = subprocess.run(cli + ["--json", str(attendance)], capture_output=True, text=True, check=True)
    (summary,) = json.loads(done.stdout)
    assert (summary["rows_read"], summary["rows_loaded"], summary["rows_quarantined"]) == (1_500_000, 1_500_000, 0)
    assert snapshot(db)["core.attendance"] == 1_500_000


def snapshot(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("raw.load_manifest", "raw.quarantine", "core.attendance", "core.sessions")
        }
    finally:
        con.close()
