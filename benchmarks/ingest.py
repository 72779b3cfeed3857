"""Ingest benchmark: `hearth ingest` of a canonical attendance file vs DuckDB's bare CSV read.

Synthesises a reference-scale attendance file (≈10M rows: 100k members, 10k groups, a year of
weekly sessions) with its groups, members and sessions, then in ONE run times
  baseline: CREATE TABLE t AS SELECT * FROM read_csv(file)   (DuckDB alone, no validation)
  hearth:   ingest of the same file with full validation, quarantine, dedup and manifest
and prints rows/s, the ratio hearth/baseline (target ≤ 1.5) and peak memory (target ≤ 1.5 GB).
The indicators refresh is excluded here (--no-refresh); benchmarks/metrics.py measures it.

    python benchmarks/ingest.py [--rows 10000000] [--out benchmarks/out]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb


def write_reference_files(out: Path, rows: int) -> Path:
    """Canonical groups/members/sessions/attendance files sized so attendance has ≈ `rows` rows."""
    out.mkdir(parents=True, exist_ok=True)
    groups = max(1, rows // 1000)           # 10 members x 52 weeks x ~2 attendance-ish rows
    members_per_group = 10
    weeks = max(1, rows // (groups * members_per_group))
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT printf('g%05d', g) AS group_id, 'Group ' || g AS name, 'video' AS modality,
                     'en' AS language, 'Europe/London' AS time_zone, 7 AS cadence_days,
                     'Coach ' || (g % 50) AS coach, DATE '2025-01-06' AS started_on, 'scale_up' AS cohort
              FROM range({groups}) t(g)) TO '{out}/groups.csv' (HEADER)""")
    con.execute(f"""
        COPY (SELECT printf('m%07d', g * {members_per_group} + m) AS member_id,
                     'Member ' || (g * {members_per_group} + m) AS name,
                     'member' || (g * {members_per_group} + m) || '@example.org' AS email,
                     printf('g%05d', g) AS group_id, DATE '2025-01-06' AS joined_on, NULL AS left_on,
                     'member' AS role, 'standard' AS tier
              FROM range({groups}) a(g), range({members_per_group}) b(m)) TO '{out}/members.csv' (HEADER)""")
    con.execute(f"""
        COPY (SELECT printf('g%05d-w%02d', g, w) AS session_id, printf('g%05d', g) AS group_id,
                     strftime(TIMESTAMP '2025-01-06 18:00:00' + INTERVAL (w * 7) DAY, '%Y-%m-%dT%H:%M:%S') || '+00:00' AS starts_at,
                     60 AS duration_minutes, printf('m%07d', g * {members_per_group} + (w % {members_per_group})) AS host_member_id,
                     'video' AS modality, 'true' AS captioned
              FROM range({groups}) a(g), range({weeks}) b(w)) TO '{out}/sessions.csv' (HEADER)""")
    path = out / "attendance.csv"
    con.execute(f"""
        COPY (SELECT printf('g%05d-w%02d', g, w) AS session_id,
                     printf('m%07d', g * {members_per_group} + m) AS member_id,
                     CASE WHEN hash(g, w, m) % 10 < 8 THEN 'attended' WHEN hash(g, w, m) % 10 = 8 THEN 'excused' ELSE 'absent' END AS status,
                     CASE WHEN hash(g, w, m) % 10 < 8 THEN 30 + hash(m, w) % 31 END AS minutes
              FROM range({groups}) a(g), range({weeks}) b(w), range({members_per_group}) c(m)
              LIMIT {rows}) TO '{path}' (HEADER)""")
    con.close()
    return path


def bare_read_seconds(path: Path) -> float:
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--out", default="benchmarks/out/ingest")
    args = parser.parse_args()
    out = Path(args.out)
    print(f"writing reference files ({args.rows:,} attendance rows) to {out} …")
    attendance = write_reference_files(out, args.rows)
    db = out / "bench.duckdb"
    for stale in out.glob("bench*.duckdb*"):
        stale.unlink()
    hearth = [sys.executable, "-m", "hearth.cli", "--db", str(db)]
    subprocess.run(hearth + ["ingest", "--no-refresh", str(out / "groups.csv"), str(out / "members.csv"),
                             str(out / "sessions.csv")], check=True, stdout=subprocess.DEVNULL)

    baseline = bare_read_seconds(attendance)
    # The ingest runs in a child process so its peak memory is its own.
    start = time.perf_counter()
    subprocess.run(hearth + ["ingest", "--no-refresh", str(attendance)], check=True)
    ingest = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2

    rows = args.rows
    print(f"\nattendance rows:            {rows:,}")
    print(f"DuckDB bare read_csv:       {baseline:6.2f} s  ({rows / baseline:,.0f} rows/s)")
    print(f"hearth ingest (validated):  {ingest:6.2f} s  ({rows / ingest:,.0f} rows/s)")
    print(f"ratio hearth / bare read:   {ingest / baseline:6.2f}   (target ≤ 1.5)")
    print(f"peak memory of the ingest:  {peak_gb:6.2f} GB (target ≤ 1.5)")


if __name__ == "__main__":
    main()
