"""Red team: what each audience can read of members, and of what came in (issue 8, session 18).

Member-level views exist only for a coach's own groups. The lead opens the coach page for any
coach "without the member list"; the council reads aggregates only; every coach reads one
snapshot (the coach audience's) that the read layer scopes to their own groups. These tests try
each way a member's name or a member-level signal reached someone it is not for.
"""

from __future__ import annotations

import re

import duckdb
import pytest
from conftest import COACH_GROUPS
from test_dashboard_access import page_text, signed_in_app

from dashboard import coach_day, queries
from hearth.config import Config
from hearth.warehouse import AUDIENCE_TABLES, AUDIENCES, connect, publish, published_path
from metrics import audit
from pipelines.ingest import ingest_paths
from tests.community import SURVEY, write_community
from tests.test_dashboard_pages import no_exception

QUARTER = "2026Q3"


def member_names(db) -> set[str]:
    """Rostered members who do not coach (coaches are named beside their groups everywhere)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {n for (n,) in con.execute(
            "SELECT DISTINCT name FROM core.members WHERE name NOT IN "
            "(SELECT coach FROM marts.groups WHERE coach IS NOT NULL)").fetchall()}


def test_the_lead_snapshot_numbers_hosts_and_names_no_member(sample_warehouse):
    """Attack: the lead's snapshot (and so the coach page the lead opens for any coach) held
    every session's host by name and member id: member-level, for every group."""
    names = member_names(sample_warehouse)
    with duckdb.connect(str(published_path(sample_warehouse, "lead")), read_only=True) as snap:
        hosts = snap.execute("SELECT group_id, session_date, host_member_id, host_name "
                             "FROM marts.session_attendance ORDER BY group_id, session_date").df()
    with duckdb.connect(str(published_path(sample_warehouse, "coach")), read_only=True) as snap:
        named = snap.execute("SELECT group_id, session_date, host_name "
                             "FROM marts.session_attendance ORDER BY group_id, session_date").df()
    assert hosts["host_member_id"].isna().all()
    labels = set(hosts["host_name"].dropna())
    assert labels and all(re.fullmatch(r"Host \d+", h) for h in labels)
    assert not labels & names
    # the rotation still shows: the same sessions have a host, and a group's hosts are as many
    assert hosts["host_name"].isna().tolist() == named["host_name"].isna().tolist()
    assert (hosts.groupby("group_id")["host_name"].nunique()
            == named.groupby("group_id")["host_name"].nunique()).all()


def test_a_lead_on_the_coach_page_reads_no_member_name(monkeypatch, sample_warehouse,
                                                       access_config):
    """Attack: the lead opened a coach's group drill-down and read who hosted each session, by
    name, in the host rotation chart and its CSV."""
    names = member_names(sample_warehouse)
    group = sorted(COACH_GROUPS["coach_b"])[0]
    at = signed_in_app(monkeypatch, sample_warehouse, access_config, "lead",
                       filter_quarter=QUARTER, coach_focus="Oscar Quinn", drilldown_group=group)
    at.run().switch_page("app_pages/coach.py").run()
    no_exception(at)
    charts = [str(c.proto) for c in at.get("plotly_chart")]
    assert any("hosted by" in c for c in charts)  # the host rotation chart is drawn
    shown = page_text(at) + "\n".join(charts)
    assert [n for n in names if re.search(rf"\b{re.escape(n)}\b", shown)] == []
    assert "Host 1" in "\n".join(charts)


def test_the_coach_snapshot_holds_no_record_of_what_came_in(sample_warehouse):
    """Attack: the coaches' snapshot held the load manifest, the quarantine and per-file
    quarter counts - the data steward's record of when which file (a survey file of one late
    response) arrived."""
    with duckdb.connect(str(published_path(sample_warehouse, "coach")), read_only=True) as snap:
        tables = {f"{s}.{t}" for s, t in snap.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    came_in = {"published.load_manifest", "published.quarantine", "marts.load_quarters"}
    assert not tables & came_in
    assert not set(AUDIENCE_TABLES["coach"]) & came_in
    assert not set(AUDIENCE_TABLES["council"]) & came_in


def test_a_coach_reads_the_rest_of_the_program_as_the_lead_does(sample_warehouse):
    """Attack: a group of another coach with one member drifting away read "to watch" in the
    totals a coach sees of the rest of the program, not in the lead's (which hold no
    watchlist): the coach's totals minus the lead's gave away a member-level signal of another
    coach's group (g10, coach_b, one member drifting in 2025Q4, seen by coach_a)."""
    quarter = "2025Q4"
    own = frozenset(COACH_GROUPS["coach_a"])
    coach, _ = coach_day.days(queries.snapshot(sample_warehouse, "coach"), quarter, None, own)
    lead, _ = coach_day.days(queries.snapshot(sample_warehouse, "lead"), quarter, None)
    rest = ~coach["group_id"].isin(own)
    assert queries.drifting_members(queries.snapshot(sample_warehouse, "coach"), quarter) \
        .get("g10") == 1  # the case this pins
    assert coach_day.severity_counts(coach[rest]) == \
        coach_day.severity_counts(lead[~lead["group_id"].isin(own)])
    severity = dict(zip(coach["group_id"], coach["severity"], strict=True))
    assert severity["g10"] == dict(zip(lead["group_id"], lead["severity"], strict=True))["g10"]
    # the coach's own groups still count their members drifting away
    assert queries.drifting_members(queries.snapshot(sample_warehouse, "coach"), QUARTER,
                                    within=own) == {"g04": 5}


def test_the_published_manifest_says_what_was_scrubbed_never_how_many(tmp_path):
    """Attack: a late survey file's notes in the lead's snapshot (the Data page) said "1
    responses named a group the warehouse does not have" and "1 [name]": the one held-back
    response went to the no-known-group unit, hidden below k, and named someone."""
    leaky = SURVEY.replace("Glad I came.", "Ada Okafor helped").replace(
        ",g01,ben@example.org,", ",The Ruiz family group,ben@example.org,")
    folder = write_community(tmp_path / "in", survey_responses=leaky)
    db = tmp_path / "w.duckdb"
    ingest_paths([folder], db=db, config=Config())
    con = connect(db)
    try:
        publish(con, db)
        raw = con.execute("SELECT notes FROM raw.load_manifest "
                          "WHERE kind = 'survey_responses'").fetchone()[0]
    finally:
        con.close()
    assert any(re.search(r"\b1 \[name\]", n) for n in raw)  # the steward's own record counts
    with duckdb.connect(str(published_path(db, "lead")), read_only=True) as snap:
        notes = snap.execute("SELECT notes FROM published.load_manifest "
                             "WHERE kind = 'survey_responses'").fetchone()[0]
    text = "\n".join(notes)
    assert "comments scrubbed before storage: [name]" in text
    assert "some responses named a group the warehouse does not have" in text
    assert not re.search(r"\d+ (responses|\[)", text)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_privacy_check_finds_member_names_outside_the_coach_snapshot(sample_warehouse, audience):
    """The auditor checks every snapshot but the coach's for a member's name or id; the old
    lead snapshot (host names, host ids) fails it."""
    names = member_names(sample_warehouse)
    with duckdb.connect(str(published_path(sample_warehouse, audience)), read_only=True) as snap:
        problems = audit.snapshot_problems(snap, AUDIENCE_TABLES[audience],
                                           audit.read_figures_empty(),
                                           None if audience == "coach" else names)
    assert problems == []
    if audience == "lead":
        with duckdb.connect() as fake:
            fake.execute("CREATE SCHEMA marts")
            fake.execute("CREATE TABLE marts.session_attendance AS SELECT 's1' AS session_id, "
                         "'m0002' AS host_member_id, ? AS host_name", [sorted(names)[0]])
            found = audit.snapshot_problems(fake, AUDIENCE_TABLES["lead"],
                                            audit.read_figures_empty(), names)
        assert found == [
            "marts.session_attendance.host_member_id names 1 member(s): member-level views are "
            "for a coach's own groups only",
            "marts.session_attendance.host_name names 1 member(s): member-level views are for "
            "a coach's own groups only"]



def test_privacy_check_finds_a_comment_naming_a_rostered_member(sample_warehouse):
    """Red team, session 21: the auditor's name check compared whole values, so a full name
    inside a comment passed it (a newcomer named before the roster listed them stayed named
    in every audience's comments). It now reads every snapshot's comments for a rostered
    member's or coach's first and last name together."""
    names = member_names(sample_warehouse)
    for audience in AUDIENCES:
        with duckdb.connect(str(published_path(sample_warehouse, audience)),
                            read_only=True) as snap:
            assert audit.comments_naming(snap, names) == 0
    person = sorted(names)[0]
    with duckdb.connect() as fake:
        fake.execute("CREATE SCHEMA marts")
        fake.execute("CREATE TABLE marts.comments AS SELECT '2025Q3' AS quarter, "
                     "NULL::VARCHAR AS group_id, ? AS comment",
                     [f"honestly {person.upper()} keeps interrupting"])
        found = audit.snapshot_problems(fake, AUDIENCE_TABLES["coach"],
                                        audit.read_figures_empty(), None, roster=names)
    assert found == ["marts.comments holds 1 comment(s) naming a rostered member or coach"]

# --- red team, session 20: what the lead's quarantine said about people ---------------------------

ZOOM_WITH_GUESTS = (
    "Topic,ID,Host,Duration (minutes),Start time,End time,Participants,\n"
    "Tuesday Evening Circle,812 3456 7890,Ada Okafor (),60,04/15/2025 06:30:00 PM,"
    "04/15/2025 07:30:00 PM,3,\n\n"
    "Name (original name),Email,Join time,Leave time,Duration (minutes),Guest,In waiting room,\n"
    "Ada Okafor,ada@example.org,04/15/2025 06:30:00 PM,04/15/2025 07:30:00 PM,60,No,No,\n"
    "Zephyrine Quillfeather,,04/15/2025 06:31:00 PM,04/15/2025 07:30:00 PM,59,Yes,No,\n"
    "Ben Ruis,ben.personal@example.net,04/15/2025 06:32:00 PM,04/15/2025 07:30:00 PM,58,Yes,No,\n"
    # a column shifted: the name lands in the join time, quoted by the reason
    "Chen Wei,,Quentin Marsh,04/15/2025 07:30:00 PM,58,No,No,\n"
)


def test_the_lead_quarantine_names_no_one(tmp_path):
    """Attack: the lead's snapshot (the Data page's quarantine) held a members.csv line with one
    field too many whole - a name and a phone number -, a bad email as typed ("nova at example
    dot org", "wren＠example.org"), and each guest's name with the rostered member closest to it
    ("participant 'Ben Ruis' ... closest roster entry: m02 (Ben Ruiz)"). `hearth privacy-check`
    passed it: its name check compares whole values. The lead reads no member's name (hosts are
    numbered); the quarantine now says why and where, never who."""
    from tests.community import MEMBERS

    members = (MEMBERS
               + "m05,Wren Calloway,,g01,2025-04-01,,member,standard,07700 900461\n"
               + "m06,Nova Marshwick,nova at example dot org,g01,2025-04-01,,member,standard\n"
               + "m07,Odile Fenwick,odile＠example.org,g01,2025-04-01,,member,standard\n"
               + "m08,Piet Brandt,,g01,1 April,,member,standard\n"
               # a column shifted: the name lands in group_id, quoted by the reason
               + "m09,g01,,Xanthe Oduya,2025-04-01,,member,standard\n"
               + "m10,g01,,Zoë Lefèvre,2025-04-01,,member,standard\n")
    folder = write_community(tmp_path / "in", members=members)
    (folder / "zoom_participants_g01.csv").write_text(ZOOM_WITH_GUESTS, encoding="utf-8")
    db = tmp_path / "w.duckdb"
    ingest_paths([folder], db=db, config=Config(meetings={"Tuesday Evening Circle": "g01"}))
    con = connect(db)
    try:
        publish(con, db)
        raw = repr(con.execute("SELECT * FROM raw.quarantine").fetchall())
    finally:
        con.close()
    secrets = ["Wren", "Calloway", "07700", "Nova", "nova at example", "odile", "Zephyrine",
               "Quillfeather", "Ben Ruis", "Ben Ruiz", "m02", "Piet", "Xanthe", "Lefèvre", "Quentin"]
    assert [s for s in secrets if s in raw]  # the steward's own warehouse keeps the detail
    with duckdb.connect(str(published_path(db, "lead")), read_only=True) as snap:
        rows = snap.execute("SELECT column_name, reason, value FROM published.quarantine "
                            "ORDER BY line, column_name").fetchall()
    assert [s for s in secrets if s in repr(rows)] == []
    assert ("joined_on", "must be a date written YYYY-MM-DD", "1 April") in rows  # a date: shown
    assert any("a roster entry is close" in reason for _, reason, _ in rows)
    assert ("group_id", "group this value is not in the warehouse; load its groups file first "
            "(or in the same run)", None) in rows
