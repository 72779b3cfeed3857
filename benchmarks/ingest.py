"""Ingest benchmark: `hearth ingest` of a canonical attendance file vs DuckDB's bare CSV read.

Synthesises a reference-scale attendance file (≈10M rows: 100k members, 10k groups, a year of
weekly sessions) with its groups, members and sessions, then in ONE run times
  baseline: CREATE TABLE t AS SELECT * FROM read_csv(file)   (DuckDB alone, no validation)
  hearth:   ingest of the same file with full validation, quarantine, dedup and manifest
and prints rows/s, the ratio hearth/baseline (target ≤ 1.3) and peak memory (target ≤ 1.2 GB),
in wall time and, because a shared machine's load moves wall times, in CPU time too.
The indicators refresh is excluded here (--no-refresh); benchmarks/metrics.py measures it.

Then, for issue 11's memory target (ingest with refresh of a 2,000-group program peaks
≤ 1.5 GB), `hearth synth --groups 2000 --members 22000` writes a whole program (attendance,
check-ins, surveys) and `hearth ingest` loads it into an empty warehouse in its own process,
refresh and publish included; its peak memory is printed (`--program-groups 0` skips it).

    python benchmarks/ingest.py [--rows 10000000] [--out benchmarks/out] [--program-groups 2000]
"""

from __future__ import annotations

import argparse
import json
import os
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


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    times = os.times()
    return times.user + times.system


def bare_read_seconds(path: Path, db: Path | None) -> tuple[float, float]:
    """DuckDB alone: CREATE TABLE … AS SELECT * FROM read_csv(file), into `db` (or memory).
    Wall and CPU seconds."""
    if db is not None:
        db.unlink(missing_ok=True)
    con = duckdb.connect(str(db) if db else ":memory:")
    con.execute("SET enable_progress_bar = false")  # as in hearth's own connections
    start, cpu = time.perf_counter(), cpu_seconds()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    con.close()  # for a file: the data is on disk when this returns
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if db is not None:
        db.unlink(missing_ok=True)
    return elapsed, cpu


CHILD = """
import json, os, resource, sys, time
from hearth.config import Config
from pipelines.ingest import ingest_paths
start, cpu = time.perf_counter(), sum(os.times()[:2])
(summary,) = ingest_paths([sys.argv[1]], db=sys.argv[2], config=Config())
elapsed, cpu = time.perf_counter() - start, sum(os.times()[:2]) - cpu
assert summary.error is None and summary.reconciles, summary
print(json.dumps({"seconds": elapsed, "cpu": cpu, "loaded": summary.rows_loaded,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}))
"""


PROGRAM_CHILD = """
import json, resource, sys, time
from hearth.cli import main
start = time.perf_counter()
code = main(["--db", sys.argv[2], "ingest", sys.argv[1]])
print(json.dumps({"code": code, "seconds": time.perf_counter() - start,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}))
"""


def program_peak(out: Path, groups: int) -> dict:
    """`hearth ingest` (refresh and publish included) of a synthetic program of `groups` groups
    into an empty warehouse, in its own process: its peak memory and wall time."""
    program = out / f"program{groups}"
    if not (program / "attendance.csv").exists():
        subprocess.run([sys.executable, "-m", "hearth.cli", "synth", "--groups", str(groups),
                        "--members", str(groups * 11), "--out", str(program)],
                       check=True, stdout=subprocess.DEVNULL)
    db = out / f"program{groups}.duckdb"
    for stale in out.glob(f"program{groups}*.duckdb*"):
        stale.unlink()
    child = subprocess.run([sys.executable, "-c", PROGRAM_CHILD, str(program), str(db)],
                           check=True, capture_output=True, text=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    with open(program / "attendance.csv", "rb") as f:
        result["attendance_rows"] = sum(1 for _ in f) - 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--out", default="benchmarks/out/ingest")
    parser.add_argument("--program-groups", type=int, default=2000,
                        help="groups of the synthetic program ingested with refresh for the "
                             "peak-memory target (0: skip)")
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

    in_memory, _ = bare_read_seconds(attendance, None)
    on_disk, on_disk_cpu = bare_read_seconds(attendance, out / "bare.duckdb")
    # The ingest runs in its own process so its peak memory is its own; the time is taken
    # around the load itself (imports and interpreter start-up are reported separately).
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CHILD, str(attendance), str(db)],
                           check=True, capture_output=True, text=True)
    whole = time.perf_counter() - start
    result = json.loads(child.stdout.strip().splitlines()[-1])
    ingest = result["seconds"]

    rows = args.rows
    print(f"\nattendance rows:                      {rows:,} ({attendance.stat().st_size / 1e6:,.0f} MB)")
    print(f"DuckDB bare read_csv, in memory:      {in_memory:6.2f} s  ({rows / in_memory:,.0f} rows/s)")
    print(f"DuckDB bare read_csv, into a file:    {on_disk:6.2f} s  ({rows / on_disk:,.0f} rows/s)")
    print(f"hearth ingest (validated, committed): {ingest:6.2f} s  ({rows / ingest:,.0f} rows/s)")
    print(f"  … plus process start-up and imports: {whole - ingest:5.2f} s")
    print(f"ratio hearth / bare read into a file: {ingest / on_disk:6.2f}   (target ≤ 1.3)")
    print(f"  … in CPU time ({result['cpu']:.2f} s / {on_disk_cpu:.2f} s): "
          f"{result['cpu'] / on_disk_cpu:6.2f}   (steadier than wall time on a shared machine)")
    print(f"ratio hearth / bare read in memory:   {ingest / in_memory:6.2f}")
    print(f"peak memory of the ingest process:    {result['peak_gb']:6.2f} GB (target ≤ 1.2)")
    if args.program_groups:
        program = program_peak(out, args.program_groups)
        print(f"\nhearth ingest of a {args.program_groups:,}-group synthetic program "
              f"({program['attendance_rows']:,} attendance rows), refresh and publish included:")
        print(f"  peak memory of the ingest process:  {program['peak_gb']:6.2f} GB (target ≤ 1.5)")
        print(f"  wall time:                          {program['seconds']:6.1f} s (exit {program['code']})")
    print(f"load average (1 min):                 {os.getloadavg()[0]:6.1f} (at the end of the run)")


if __name__ == "__main__":
    main()
