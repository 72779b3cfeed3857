"""Roster history: a members file that changes a known member says so and keeps the old values.

The email matches meeting participants to members, so a silent overwrite would quietly move
someone's attendance; a silently ignored change would leave a member in a group they left.
"""

from __future__ import annotations

import duckdb
import pytest

from hearth.config import Config
from pipelines.ingest import ingest_paths
from tests.community import write_community

HEADER = "member_id,name,email,group_id,joined_on,left_on,role,tier\n"


def stored(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def build_community(db):
    summaries = ingest_paths([write_community(db.parent / "in")], db=db, config=Config())
    assert not [s.error for s in summaries if s.error]


@pytest.fixture
def warehouse(built_warehouse):
    """The small community loaded (a private copy of one load per session)."""
    return built_warehouse("community", build_community)


def load_roster(tmp_path, db, text, name="members_update.csv"):
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    (summary,) = ingest_paths([path], db=db, config=Config())
    assert summary.error is None, summary.error
    assert summary.reconciles
    return summary


def test_a_changed_name_email_and_group_are_reported_and_the_old_values_kept(tmp_path, warehouse):
    summary = load_roster(tmp_path, warehouse,
                          "m01,Ada Okafor-Lee,ada@example.org,g01,2025-04-01,,member,standard\n"
                          "m03,Chen Wei,chen@example.org,g01,2025-04-08,,member,light\n"
                          "m04,Dina Haddad,dina@example.org,g01,2025-07-01,,member,standard\n"
                          "m02,Ben Ruiz,ben@example.org,g01,2025-04-01,2025-06-30,facilitator,intensive\n")
    assert summary.members_changed == 3
    assert (summary.rows_read, summary.rows_loaded, summary.rows_duplicate) == (4, 3, 1)
    assert ("3 known member(s) changed (email 1, group_id 1, name 1); previous values kept in "
            "the roster history (core.member_history)") in summary.notes
    assert stored(warehouse, "SELECT member_id, name, email FROM core.members ORDER BY 1") == [
        ("m01", "Ada Okafor-Lee", "ada@example.org"), ("m02", "Ben Ruiz", "ben@example.org"),
        ("m03", "Chen Wei", "chen@example.org"), ("m04", "Dina Haddad", "dina@example.org")]
    assert stored(warehouse, "SELECT member_id, group_id FROM core.memberships WHERE member_id = 'm04'") == [
        ("m04", "g01")]
    assert stored(warehouse, """SELECT member_id, field, old_value, new_value, group_id
                                FROM core.member_history ORDER BY member_id, field""") == [
        ("m01", "name", "Ada Okafor", "Ada Okafor-Lee", None),
        ("m03", "email", None, "chen@example.org", None),
        ("m04", "group_id", "g02", "g01", "g01"),
    ]


def test_a_member_who_left_gets_their_left_date_and_the_role_change_is_kept(tmp_path, warehouse):
    summary = load_roster(tmp_path, warehouse,
                          "m01,Ada Okafor,ada@example.org,g01,2025-04-01,2025-09-30,facilitator,standard\n")
    assert (summary.members_changed, summary.rows_loaded, summary.rows_duplicate) == (1, 1, 0)
    assert stored(warehouse, "SELECT left_on, role FROM core.memberships WHERE member_id = 'm01'")[0] == (
        __import__("datetime").date(2025, 9, 30), "facilitator")
    assert stored(warehouse, "SELECT field, old_value, new_value FROM core.member_history ORDER BY field") == [
        ("left_on", None, "2025-09-30"), ("role", "member", "facilitator")]


def test_an_unchanged_roster_changes_nothing_and_an_empty_email_never_clears_one(tmp_path, warehouse):
    summary = load_roster(tmp_path, warehouse,
                          "m01,Ada Okafor,,g01,2025-04-01,,member,standard\n"
                          "m04,Dina Haddad,dina@example.org,g02,2025-07-01,,member,standard\n")
    assert (summary.members_changed, summary.rows_loaded, summary.rows_duplicate) == (0, 0, 2)
    assert stored(warehouse, "SELECT email FROM core.members WHERE member_id = 'm01'") == [("ada@example.org",)]
    assert stored(warehouse, "SELECT count(*) FROM core.member_history") == [(0,)]


def test_a_second_membership_on_another_date_is_a_new_membership_not_a_move(tmp_path, warehouse):
    summary = load_roster(tmp_path, warehouse, "m04,Dina Haddad,dina@example.org,g01,2025-08-01,,member,light\n")
    assert (summary.members_changed, summary.rows_loaded) == (0, 1)
    assert stored(warehouse, "SELECT group_id FROM core.memberships WHERE member_id = 'm04' ORDER BY 1") == [
        ("g01",), ("g02",)]


def test_a_roster_without_a_left_on_column_leaves_left_dates_alone(tmp_path, warehouse):
    path = tmp_path / "members_short.csv"
    path.write_text("member_id,name,group_id,joined_on,role,tier\n"
                    "m02,Ben Ruiz,g01,2025-04-01,facilitator,intensive\n", encoding="utf-8")
    (summary,) = ingest_paths([path], db=warehouse, config=Config())
    assert (summary.members_changed, summary.rows_duplicate) == (0, 1)
    assert stored(warehouse, "SELECT CAST(left_on AS VARCHAR) FROM core.memberships WHERE member_id = 'm02'") == [
        ("2025-06-30",)]
