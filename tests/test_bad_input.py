"""A corpus of bad files: each gets one clear line (file, problem, fix), never a traceback,
and every file that could be read reconciles: read = loaded + duplicates + quarantined."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from hearth.cli import main
from tests.community import write_community

GOOD_MEMBERS_HEADER = "member_id,name,email,group_id,joined_on,left_on,role,tier\n"

# name -> (file name, bytes, words the message must contain). Files that cannot be read at all.
UNREADABLE = {
    "empty file": ("attendance.csv", b"", ["empty", "export it again"]),
    "only blank lines": ("attendance.csv", b"\n\n  \n", ["empty"]),
    "binary (PNG)": ("members.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), ["binary", "CSV"]),
    "zip renamed to .csv": ("members.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 64, ["binary"]),
    "Latin-1 text": ("members.csv", (GOOD_MEMBERS_HEADER + "m09,José Núñez,,g01,2025-04-01,,member,light\n").encode("latin-1"),
                     ["not UTF-8", "CSV UTF-8"]),
    "UTF-16 canonical file": ("members.csv", (GOOD_MEMBERS_HEADER + "m09,Jo,,g01,2025-04-01,,member,light\n").encode("utf-16"),
                              ["UTF-16", "CSV UTF-8"]),
    "unknown header": ("mystery.csv", b"foo,bar,baz\n1,2,3\n", ["matches no canonical file", "hearth formats"]),
    "missing required columns": ("members.csv", b"member_id,name,group_id\nm09,Jo,g01\n",
                                 ["missing required column(s) joined_on, role, tier", "docs/formats.md"]),
    "tab-separated canonical": ("attendance.csv", b"session_id\tmember_id\tstatus\tminutes\ng01-2025-04-01\tm01\tattended\t5\n",
                                ["tab-separated", "commas"]),
    "semicolon-separated canonical (a European Excel's CSV)": (
        "attendance.csv", b"session_id;member_id;status;minutes\ng01-2025-04-01;m03;attended;30,5\n",
        ["semicolon-separated", "CSV UTF-8 (Comma delimited)"]),
    "header names a column twice": ("attendance.csv", b"session_id,member_id,status,status\ng01-2025-04-01,m01,attended,attended\n",
                                    ["more than once"]),
}

# name -> (file name, text, expected (read, loaded, duplicates, quarantined), a reason expected)
MIXED = {
    "attendance with bad rows among good ones": (
        "attendance_more.csv",
        "session_id,member_id,status,minutes\n"
        "g01-2025-04-01,m03,attended,30\n"
        "g01-2025-04-01,m04,late,30\n"
        "g01-2025-04-08,m09,attended,30\n"
        "g01-2099-01-01,m01,attended,30\n"
        "g02-2025-07-01,m01,attended,-5\n"
        "g02-2025-07-01,m02,attended,ten\n",
        (6, 1, 0, 5), "minutes: must be at least 0",
    ),
    "members with impossible dates": (
        "members_more.csv",
        GOOD_MEMBERS_HEADER
        + "m10,Eve Stone,eve@example.org,g01,2025-02-30,,member,light\n"
        "m11,Finn Roy,not-an-email,g01,2025-04-01,,member,light\n"
        "m12,Gus Lee,,g01,2025-05-01,2025-04-01,member,light\n"
        "m13,Hana Ito,,g07,2025-05-01,,member,light\n"
        "m14,Ida Berg,,g01,2025-05-01,,captain,platinum\n"
        "m15,Jon Ek,,g01,2025-05-01,,member,standard\n",
        (6, 1, 0, 5), "joined_on: is not a real calendar date",
    ),
    "sessions without a time zone": (
        "sessions_more.csv",
        "session_id,group_id,starts_at,duration_minutes,host_member_id,modality,captioned\n"
        "g01-2025-04-15,g01,2025-04-15 18:30,60,m01,video,true\n"
        "g01-2025-04-22,g01,2025-04-22T18:30:00+01:00,0,m01,video,maybe\n"
        "g01-2025-04-29,g01,2025-04-29T18:30:00+01:00,60,m77,video,true\n"
        "g01-2025-05-06,g01,2025-05-06T18:30:00+01:00,60,,video,false\n",
        (4, 1, 0, 3), "starts_at: must be an ISO 8601 time with a zone offset, e.g. 2025-04-07T18:30:00+01:00",
    ),
    "survey with out-of-range answers and empty responses": (
        "survey_more.csv",
        "survey_id,submitted_at,group_id,bel_1,bel_2,lon_1,IP Address\n"
        "2025Q3,2025-09-20T10:00:00Z,g01,6,4,2,10.0.0.7\n"
        "2025Q3,yesterday,g01,3,4,2,10.0.0.8\n"
        "2025Q3,2025-09-21T10:00:00Z,g01,,,,10.0.0.9\n"
        "2025Q3,2025-09-22T10:00:00Z,g01,3,3,4,10.0.0.10\n",
        (4, 2, 0, 2), "submitted_at: must be an ISO 8601 time with a zone offset, e.g. 2025-04-07T18:30:00+01:00",
    ),
    "broken lines: too few and too many fields": (
        "groups_more.csv",
        "group_id,name,modality,language,time_zone,cadence_days,coach,started_on,cohort\n"
        "g03,Night Owls,audio,en,America/New_York,7,,2025-08-01,scale_up\n"
        "g04,Broken\n"
        "g05,Too, many,video,en,UTC,7,,2025-08-01,scale_up\n"
        "g06,Fortnightly,text,fr,Europe/Paris,14,Ana,2025-08-01,scale_up\n",
        (4, 2, 0, 2), "has too many fields; quote values that contain commas",
    ),
    "duplicates inside the file and against an earlier load": (
        "buddies_more.csv",
        "member_id,buddy_id,checked_in_at,channel\n"
        "m01,m02,2025-04-03T11:10:00Z,message\n"      # same instant as the loaded one (12:10+01:00)
        "m01,m03,2025-05-01T09:00:00Z,video\n"
        "m01,m03,2025-05-01T09:00:00Z,video\n"
        "m01,m01,2025-05-02T09:00:00Z,call\n"
        "m01,m03,2025-05-03T09:00:00Z,carrier pigeon\n",
        (5, 1, 2, 2), "buddy_id: a member cannot be their own buddy; fix buddy_id",
    ),
    "header only": ("attendance_none.csv", "session_id,member_id,status,minutes\n", (0, 0, 0, 0), None),
    # a roster opened and re-saved in Excel: a date became its serial number, the empty rows
    # became bare commas, and someone added a total under the table
    "members re-saved by Excel": (
        "members_excel.csv",
        GOOD_MEMBERS_HEADER.replace("\n", "\r\n")
        + "m20,Kai Moss,,g01,2025-04-01,,member,light\r\n"
        "m21,Lea Vu,,g01,45748,,member,light\r\n"
        ",,,,,,,\r\n"
        "Total,2,,,,,,\r\n\r\n",
        (4, 1, 0, 3), "joined_on: must be a date written YYYY-MM-DD; this is a date Excel saved as "
        "its serial number (the column was formatted as a number): format the column as a date "
        "(yyyy-mm-dd, or yyyy-mm-ddThh:mm:ss+hh:mm for times) and save the file again",
    ),
    "two downloads pasted together: the header again mid-file": (
        "attendance_joined.csv",
        "session_id,member_id,status,minutes\n"
        "g01-2025-04-01,m03,attended,30\n"
        "session_id,member_id,status,minutes\n"
        "g02-2025-07-01,m01,attended,40\n",
        (3, 2, 0, 1), None,
    ),
    "a newer version's extra column, columns reordered, a line break in a name": (
        "members_newer.csv",
        "tier,role,left_on,joined_on,group_id,email,name,member_id,pronouns\n"
        'light,member,,2025-04-01,g01,,"Mo\nRae",m22,they\n',
        (1, 1, 0, 0), None,
    ),
}


@pytest.fixture(scope="module")
def loaded_community(tmp_path_factory) -> Path:
    """The small community loaded once; each test gets its own copy of the warehouse."""
    folder = tmp_path_factory.mktemp("bad_input")
    db = folder / "w.duckdb"
    hearth(db, "ingest", "--no-refresh", str(write_community(folder / "community")))
    return db


@pytest.fixture
def warehouse(loaded_community, tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    shutil.copy(loaded_community, db)
    return db


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def hearth(db: Path, *args: str) -> Run:
    """`hearth --db DB ARGS...` in this process (tests/test_cli.py runs the real command once)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--db", str(db), *args])
    return Run(code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("case", UNREADABLE, ids=list(UNREADABLE))
def test_an_unreadable_file_gets_one_clear_line_and_changes_nothing(case, warehouse, tmp_path):
    name, content, words = UNREADABLE[case]
    bad = tmp_path / "bad" / name
    bad.parent.mkdir()
    bad.write_bytes(content)
    before = counts(warehouse)
    result = hearth(warehouse, "ingest", "--no-refresh", str(bad))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith(str(bad)))
    for word in words:
        assert word in line
    assert counts(warehouse) == before


def test_a_missing_file_is_named_with_the_fix(warehouse, tmp_path):
    result = hearth(warehouse, "ingest", "--no-refresh", str(tmp_path / "nowhere.csv"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"{tmp_path / 'nowhere.csv'}: file not found; check the path" in result.stdout


@pytest.mark.parametrize("case", MIXED, ids=list(MIXED))
def test_bad_rows_among_good_ones_are_quarantined_and_the_file_reconciles(case, warehouse, tmp_path):
    name, text, expected, reason = MIXED[case]
    bad = tmp_path / "mixed" / name
    bad.parent.mkdir()
    bad.write_text(text, encoding="utf-8")
    result = hearth(warehouse, "ingest", "--no-refresh", "--json", str(bad))
    assert "Traceback" not in result.stderr, result.stderr
    (summary,) = json.loads(result.stdout)
    got = (summary["rows_read"], summary["rows_loaded"], summary["rows_duplicate"], summary["rows_quarantined"])
    assert got == expected
    assert summary["reconciles"] is True
    if reason:
        assert reason in summary["quarantine_reasons"]
    con = duckdb.connect(str(warehouse), read_only=True)
    stored = con.execute(
        "SELECT rows_read, rows_loaded, rows_duplicate, rows_quarantined FROM raw.load_manifest WHERE file_name = ?", [name]
    ).fetchone()
    lines = con.execute("SELECT count(DISTINCT line) FROM raw.quarantine WHERE file_name = ? AND column_name IS DISTINCT FROM 'bel_1' AND column_name IS DISTINCT FROM 'lon_1'", [name]).fetchone()
    survey_values = con.execute("SELECT count(*) FROM raw.quarantine WHERE file_name LIKE 'survey%' AND value IS NOT NULL").fetchone()
    con.close()
    assert stored == got
    assert lines[0] == expected[3]
    assert survey_values == (0,)


def test_a_header_only_file_says_it_holds_no_rows_not_that_it_was_loaded_before(warehouse, tmp_path):
    empty = tmp_path / "members_none.csv"
    empty.write_text(GOOD_MEMBERS_HEADER.replace("\n", "\r\n"), encoding="utf-8")
    result = hearth(warehouse, "ingest", "--no-refresh", str(empty))
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stdout.splitlines()[-1] == (
        "1 file(s): 0 rows loaded (nothing to load: the file(s) hold a header but no rows; "
        "export again once there is data)")


def test_invalid_utf8_deep_in_a_large_file_quarantines_just_that_line(warehouse, tmp_path):
    bad = tmp_path / "attendance_big.csv"
    good_rows = "".join(f"g01-2025-04-08,m01,absent,{i % 60}\n" for i in range(40_000))
    bad.write_bytes(b"session_id,member_id,status,minutes\n" + good_rows.encode() + b"g01-2025-04-08,m0\xff1,attended,5\n")
    result = hearth(warehouse, "ingest", "--no-refresh", "--json", str(bad))
    (summary,) = json.loads(result.stdout)
    assert (summary["rows_read"], summary["rows_loaded"], summary["rows_duplicate"], summary["rows_quarantined"]) == (40_001, 0, 40_000, 1)
    assert summary["quarantine_reasons"] == {"is not valid UTF-8; re-save the file as CSV UTF-8": 1}


def counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            f"{s}.{t}": con.execute(f"SELECT count(*) FROM {s}.{t}").fetchone()[0]
            for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('raw','core')").fetchall()
        }
    finally:
        con.close()
