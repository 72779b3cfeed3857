"""Nothing identifying a respondent is printed, stored or shown, even from a malformed export.

The attacks of issue 8, each a test: a SurveyMonkey export whose second header row was deleted
(the first respondent's email, IP and name became column names: printed, stored in the manifest,
shown on the Data page, and their answers lost); a question "Your e-mail (so your coach can
follow up)" with column id Q4 stored as the self-reported group; free text keeping identities.
The last test loads every malicious fixture through `hearth ingest` and scans the whole warehouse,
the published snapshots and everything printed for any identifying value.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hearth.cli import main
from hearth.config import Config
from hearth.instrument import load_instrument
from pipelines.adapters import AdapterError, detect_format, parse_export
from tests.community import SURVEY, write_community

CONFIG = Config(
    time_zone="Europe/London",
    meetings={"Tuesday Evening Circle": "g01"},
    question_aliases={"Q5_1": "bel_1", "Q6": "lon_2", "Q7": "group_id", "Q8": "comment",
                      "Q4": "group_id"},
)
INSTRUMENT = load_instrument(CONFIG)

# What respondents typed into identifying columns: none of it may be stored, printed or shown.
SECRETS = [
    "zephyr.quill@example.net", "Zephyrine", "Quillfeather", "198.51.100.23", "crm-778",
    "114227465891", "nova.marsh@example.org", "Marshwick", "203.0.113.99", "ext-18",
    "R_9z8Y7x6W5v4U3t2", "40.0150", "-105.2705", "07700 900461", "wren.calloway@example.com",
]

# SurveyMonkey, second header row (Response / option labels) deleted by hand: the first
# respondent's row now sits where the tool's second header row was.
SURVEYMONKEY_NO_SECOND_HEADER = (
    "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,"
    "Last Name,Custom Data 1,How much do you agree with each statement?,,,"
    "How often do you feel that you lack companionship?,Which group are you in?,"
    "Anything else you'd like to tell us?\n"
    "114227465891,431234567,10/03/2025 07:30:00 PM,10/03/2025 07:33:10 PM,198.51.100.23,"
    "zephyr.quill@example.net,Zephyrine,Quillfeather,crm-778,Disagree,Agree,Agree,Often,g02,"
    '"Needs more, shorter sessions"\n'
    "114227465890,431234567,10/02/2025 06:01:12 PM,10/02/2025 06:05:40 PM,203.0.113.7,,,,,"
    "Agree,Strongly agree,Somewhat agree,Hardly ever,g01,\n"
)

# Qualtrics, question-text and ImportId rows deleted: the column ids are the only header.
QUALTRICS_IDS = (
    "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,"
    "ResponseId,RecipientLastName,RecipientFirstName,RecipientEmail,ExternalReference,"
    "LocationLatitude,LocationLongitude,DistributionChannel,UserLanguage,Q5_1,Q5_2,Q5_DO,Q6,Q7,Q8\n"
)
QUALTRICS_ROWS = (
    "2025-12-03 11:00:00,2025-12-03 11:01:30,IP Address,203.0.113.99,100,90,True,"
    "2025-12-03 11:01:30,R_9z8Y7x6W5v4U3t2,Marshwick,Nova,nova.marsh@example.org,ext-18,"
    "40.0150,-105.2705,email,EN,Disagree,,Q5_1|Q5_2,Often,Tuesday Evening Circle,Thank you\n"
)
QUALTRICS_TEXTS = (
    "Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,"
    "Recorded Date,Response ID,Recipient Last Name,Recipient First Name,Recipient Email,"
    "External Data Reference,Location Latitude,Location Longitude,Distribution Channel,"
    "User Language,How much do you agree? - I feel I belong in my group.,"
    "How much do you agree? - I feel connected to the people in my group.,"
    "How much do you agree? - Display Order,How often do you feel left out?,"
    "Your e-mail (so your coach can follow up),Anything else you'd like to tell us?\n"
)
# A question asking for an email, its column id Q4 (aliased to the group question by mistake).
QUALTRICS_Q4 = (
    QUALTRICS_IDS.replace(",Q7,", ",Q4,") + QUALTRICS_TEXTS
    + "2025-12-04 11:00:00,2025-12-04 11:01:30,IP Address,192.0.2.1,100,90,True,"
    "2025-12-04 11:01:30,R_0000000001,,,,,,,email,EN,Agree,,Q5_1|Q5_2,Often,"
    "wren.calloway@example.com,Call me on 07700 900461 please\n"
)


def parse(path: Path, fmt: str):
    assert detect_format(path, path.read_bytes()[:65536]) == fmt
    parsed = parse_export(path, fmt, CONFIG, pd.DataFrame(), INSTRUMENT)
    assert parsed.reconciles()
    return parsed


def traces(parsed) -> str:
    return (parsed.survey.to_csv() + repr(parsed.quarantine) + repr(parsed.notes)
            + repr(parsed.dropped_columns))


def test_a_surveymonkey_export_missing_its_second_header_row_reads_the_respondent_as_data(tmp_path):
    """Attack (issue 8): the first respondent's row was read as the second header row."""
    path = tmp_path / "Hearth check-in.csv"
    path.write_text(SURVEYMONKEY_NO_SECOND_HEADER, encoding="utf-8")
    p = parse(path, "surveymonkey")
    assert p.survey[["submitted_at", "group_id", "lon_1", "comment", "line"]].values.tolist() == [
        ["2025-10-03T19:33:10+01:00", "g02", "3", "Needs more, shorter sessions", 2],
        ["2025-10-02T18:05:40+01:00", "g01", "1", "", 3],
    ]
    assert p.rows_read == 2
    assert p.dropped_columns == ["Respondent ID", "Collector ID", "IP Address", "Email Address",
                                 "First Name", "Last Name", "Custom Data 1"]
    assert any("second header row" in n and "missing" in n for n in p.notes)
    assert not [s for s in SECRETS if s in traces(p)]


def test_a_qualtrics_export_without_its_text_and_import_rows_reads_the_first_response(tmp_path):
    path = tmp_path / "Hearth_December_2025.csv"
    path.write_text(QUALTRICS_IDS + QUALTRICS_ROWS, encoding="utf-8")
    p = parse(path, "qualtrics")
    assert p.survey[["submitted_at", "group_id", "bel_1", "lon_2", "line"]].values.tolist() == [
        ["2025-12-03T11:01:30+00:00", "g01", "2", "3", 2],
    ]
    assert not [s for s in SECRETS if s in traces(p)]


def test_a_question_asking_for_an_email_is_dropped_whatever_its_column_id(tmp_path):
    """Attack (issue 8): 'Your e-mail (so your coach can follow up)' with id Q4 was stored as
    the self-reported group, because identifying columns were recognised by id only."""
    path = tmp_path / "Hearth_Q4.csv"
    path.write_text(QUALTRICS_Q4.replace(
        "\n2025-12-04",
        '\n"{""ImportId"":""startDate"",""timeZone"":""Europe/London""}"' + ",x" * 22 + "\n2025-12-04",
        1), encoding="utf-8")
    p = parse(path, "qualtrics")
    assert "Q4" in p.dropped_columns
    assert p.survey["group_id"].tolist() == [""]
    assert "wren.calloway" not in traces(p)


@pytest.mark.parametrize("question", [
    "¿Cuál es tu correo electrónico?", "Votre adresse e-mail", "Ihr Vorname", "Qual é o seu nome?",
])
def test_identifying_questions_in_other_languages_are_dropped(tmp_path, question):
    path = tmp_path / "responses.csv"
    path.write_text(
        f'"Timestamp","{question}","I feel I belong in my group."\n'
        '"2025/06/20 6:31:58 PM EST","wren.calloway@example.com","4"\n', encoding="utf-8")
    p = parse(path, "google_forms")
    assert p.dropped_columns == [question]
    assert "wren" not in traces(p)


def test_a_header_label_that_looks_like_an_answer_is_named_by_position_only(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text('"Timestamp","nova.marsh@example.org","I feel I belong in my group."\n'
                    '"2025/06/20 6:31:58 PM EST","x","4"\n', encoding="utf-8")
    p = parse(path, "google_forms")
    assert p.dropped_columns == ["column 2"]
    assert "nova" not in traces(p)


def test_a_survey_export_without_its_header_row_is_refused_without_echoing_a_value(tmp_path):
    path = tmp_path / "responses.csv"
    rows = SURVEYMONKEY_NO_SECOND_HEADER.splitlines(keepends=True)[1:]
    path.write_text("".join(rows), encoding="utf-8")
    with pytest.raises(AdapterError) as caught:
        parse_export(path, "surveymonkey", CONFIG, pd.DataFrame(), INSTRUMENT)
    message = str(caught.value)
    assert "no header row naming collector id, respondent id" in message
    assert not [s for s in SECRETS if s in message]


# --- the scan: every table, every snapshot, everything printed -------------------------------

def write_malicious_fixtures(folder: Path) -> None:
    leaky = SURVEY.replace(
        "Glad I came.",
        '"Ada Okafor said to mail zephyr.quill@example.net or ring 07700 900461"',
    ).replace("ada@example.org", "nova.marsh@example.org")
    write_community(folder, survey_responses=leaky)
    (folder / "surveymonkey.csv").write_text(SURVEYMONKEY_NO_SECOND_HEADER, encoding="utf-8")
    (folder / "qualtrics_no_text_rows.csv").write_text(QUALTRICS_IDS + QUALTRICS_ROWS,
                                                       encoding="utf-8")
    (folder / "qualtrics_q4.csv").write_text(QUALTRICS_Q4, encoding="utf-8")
    (folder / "hearth.toml").write_text(
        '[program]\ntime_zone = "Europe/London"\n'
        '[meetings]\n"Tuesday Evening Circle" = "g01"\n'
        '[survey.aliases]\n"Q5_1" = "bel_1"\n"Q6" = "lon_2"\n"Q7" = "group_id"\n'
        '"Q8" = "comment"\n"Q4" = "group_id"\n', encoding="utf-8")


def everything_stored(folder: Path) -> dict[str, str]:
    """Every row of every table of every DuckDB file (warehouse and published snapshots), as text."""
    out = {}
    for path in sorted(folder.rglob("*.duckdb")):
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
                "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
            for schema, table in tables:
                rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                out[f"{path.name}:{schema}.{table}"] = repr(rows)
        finally:
            con.close()
    return out


def test_no_identifying_value_is_stored_printed_or_shown_after_malicious_files(tmp_path, capsys):
    source = tmp_path / "in"
    write_malicious_fixtures(source)
    db = tmp_path / "out" / "hearth.duckdb"
    db.parent.mkdir()
    config = str(source / "hearth.toml")
    assert main(["--db", str(db), "--config", config, "ingest", str(source), "--json"]) == 0
    loaded = json.loads(capsys.readouterr().out)
    by_file = {Path(s["file"]).name: s for s in loaded}
    assert all(s["reconciles"] for s in loaded)
    assert not [s["error"] for s in loaded if s["error"]]
    assert by_file["surveymonkey.csv"]["rows_read"] == 2
    assert by_file["surveymonkey.csv"]["rows_loaded"] == 2   # the respondent's answers count
    assert by_file["survey_responses.csv"]["scrubbed"] == {"email": 1, "phone": 1, "name": 1}

    # Everything printed (text summary, status) and everything stored, at once.
    (source / "again").mkdir()
    (source / "again" / "more.csv").write_text(QUALTRICS_Q4.replace("2025-12-04", "2025-12-05"),
                                               encoding="utf-8")
    assert main(["--db", str(db), "--config", config, "ingest", str(source / "again")]) == 0
    assert main(["--db", str(db), "status"]) == 0
    assert main(["--db", str(db), "status", "--json"]) == 0
    printed = capsys.readouterr()
    texts = {"stdout": printed.out, "stderr": printed.err, **everything_stored(db.parent)}
    assert len(texts) > 10
    leaks = {(where, s) for where, text in texts.items() for s in SECRETS
             if s.lower() in text.lower()}
    assert leaks == set()
    # The rostered member named in a comment is in the roster, never in anything about surveys.
    comments = {w: t for w, t in texts.items() if "survey" in w or "comment" in w}
    assert comments and not [w for w, t in comments.items() if "Okafor" in t]


def test_a_canonical_survey_file_never_names_a_header_cell_that_holds_an_answer(tmp_path, capsys):
    source = tmp_path / "in"
    header, first, second = SURVEY.splitlines()[:3]
    write_community(source, survey_responses="\n".join([
        header.replace("Email Address", "nova.marsh@example.org") + ",Your phone number",
        first + ",07700 900461", second + ",",
    ]) + "\n")
    db = tmp_path / "hearth.duckdb"
    assert main(["--db", str(db), "ingest", str(source)]) == 0
    printed = capsys.readouterr()
    assert "identifying columns dropped before storage: column 4, Your phone number" in printed.out
    stored = everything_stored(tmp_path)
    assert not [s for s in SECRETS for t in [printed.out, printed.err, *stored.values()] if s in t]


def test_every_language_of_the_bundled_label_maps_has_identifying_terms():
    from pipelines.scrub import IDENTIFYING_TERMS
    from tests.conftest import sample_config

    for config in (Config(), CONFIG, sample_config()):
        assert set(load_instrument(config).languages) <= set(IDENTIFYING_TERMS)


def test_a_label_language_without_identifying_terms_is_named_in_the_notes(tmp_path):
    config = Config(time_zone="Europe/London",
                    extra_labels={"agree5": {"sw": {"nakubali sana": 5}}})
    path = tmp_path / "responses.csv"
    path.write_text('"Timestamp","I feel I belong in my group."\n"2025/06/20 6:31:58 PM EST","4"\n',
                    encoding="utf-8")
    p = parse_export(path, "google_forms", config, pd.DataFrame(), load_instrument(config))
    assert any(n.startswith("answer labels are configured in sw, a language whose identifying")
               for n in p.notes)


def test_a_name_rostered_after_its_comment_was_stored_is_scrubbed_everywhere(tmp_path):
    # Red team, session 21: comments were scrubbed once, against the roster at the time the
    # survey was loaded. A newcomer named in a comment before the roster listed them ("Zara
    # Quill keeps interrupting") stayed named after members.csv added her: in the warehouse,
    # in the comment ledger and in the program's list every audience reads, and `hearth
    # privacy-check` passed (its name check compares whole values).
    source = tmp_path / "in"
    header = SURVEY.splitlines()[0]
    rows = [f"2025Q2,2025-06-2{i % 9}T19:0{i}:00+01:00,g01,,4,4,4,4,4,4,4,4,4,4,4,1,1,1,3,"
            + ("Zara Quill keeps interrupting everyone" if i == 0 else "fine")
            for i in range(10)]
    write_community(source, survey_responses="\n".join([header, *rows]) + "\n")
    db = tmp_path / "out" / "hearth.duckdb"
    db.parent.mkdir()
    assert main(["--db", str(db), "ingest", str(source)]) == 0
    later = tmp_path / "later"
    later.mkdir()
    (later / "members.csv").write_text(
        "member_id,name,email,group_id,joined_on,left_on,role,tier\n"
        "m09,Zara Quill,,g01,2025-06-01,,member,standard\n", encoding="utf-8")
    assert main(["--db", str(db), "ingest", str(later / "members.csv")]) == 0
    stored = everything_stored(tmp_path / "out")
    council = duckdb.connect(str(db.parent / "hearth.council.published.duckdb"), read_only=True)
    try:
        listed = [c for (c,) in council.execute("SELECT comment FROM marts.comments").fetchall()]
    finally:
        council.close()
    assert "[name] keeps interrupting everyone" in listed
    # (her roster entry names her, as every member's does)
    assert not [where for where, text in stored.items() if "Quill keeps" in text]
    assert main(["--db", str(db), "privacy-check"]) == 0


def _late_rows(i_range, comment_of):
    return [f"2025Q2,2025-06-2{i % 9}T19:{i:02d}:{i + 7:02d}+01:00,g01,,4,4,4,4,4,4,4,4,4,4,4,1,1,1,3,"
            + comment_of(i) for i in i_range]


def _manifest(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT rows_read, rows_loaded, rows_duplicate, rows_quarantined FROM raw.load_manifest "
            "WHERE kind = 'survey_responses' ORDER BY load_id").fetchall()
    finally:
        con.close()


def _responses(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM core.survey_responses").fetchone()[0]
    finally:
        con.close()


def _commented(i: int) -> str:
    return "Zara Quill keeps interrupting everyone" if i == 0 else ("fine" if i % 2 else "")


def _ten_commented_responses(tmp_path: Path) -> Path:
    """A warehouse holding 10 responses without a tool's id, the first commenting on a name
    the roster does not list yet (_commented)."""
    source = tmp_path / "in"
    header = SURVEY.splitlines()[0]
    write_community(source, survey_responses="\n".join([header, *_late_rows(range(10), _commented)]) + "\n")
    db = tmp_path / "out" / "hearth.duckdb"
    db.parent.mkdir()
    assert main(["--db", str(db), "ingest", str(source), "--no-refresh"]) == 0
    return db


def test_a_re_export_after_the_roster_names_a_commenter_adds_only_its_new_responses(tmp_path):
    # Red team, session 22: a response without a tool's id was identified by a hash of its
    # content, the scrubbed comment included. After members.csv added a name a stored comment
    # mentions, the stored comment was scrubbed again but its id was not; a re-export of the
    # same survey (one late response more) scrubbed that comment to the new text, so its row
    # hashed to a new id and loaded again: 11 responses read back as 12 (a file whose
    # times have no seconds was caught by the minute-copy check).
    db = _ten_commented_responses(tmp_path)
    header = SURVEY.splitlines()[0]
    assert _responses(db) == 10
    later = tmp_path / "later"
    later.mkdir()
    (later / "members.csv").write_text(
        "member_id,name,email,group_id,joined_on,left_on,role,tier\n"
        "m09,Zara Quill,,g01,2025-06-01,,member,standard\n", encoding="utf-8")
    assert main(["--db", str(db), "ingest", str(later / "members.csv"), "--no-refresh"]) == 0
    again = tmp_path / "again"
    again.mkdir()
    (again / "survey_responses.csv").write_text(
        "\n".join([header, *_late_rows(range(11), _commented)]) + "\n", encoding="utf-8")
    assert main(["--db", str(db), "ingest", str(again / "survey_responses.csv"), "--no-refresh"]) == 0
    assert _responses(db) == 11
    assert _manifest(db)[-1] == (11, 1, 10, 0)
    assert all(read == loaded + duplicate + quarantined
               for read, loaded, duplicate, quarantined in _manifest(db))


def test_a_response_s_identity_never_hashes_its_comment(tmp_path):
    # The id of a response without a tool's id is a hash of its content; were the comment part
    # of it, the warehouse would keep a hash of the text as first scrubbed, a name not yet on
    # the roster included ("Zara Quill keeps interrupting"), which a guess can be tested
    # against. Two warehouses loaded from one file whose comments differ hold the same ids.
    header = SURVEY.splitlines()[0]
    ids = []
    for name, comment in (("named", lambda i: "Zara Quill keeps interrupting everyone"),
                          ("plain", lambda i: "" if i % 3 else "fine")):
        source = tmp_path / name / "in"
        write_community(source, survey_responses="\n".join([header, *_late_rows(range(6), comment)]) + "\n")
        db = tmp_path / name / "hearth.duckdb"
        assert main(["--db", str(db), "ingest", str(source), "--no-refresh"]) == 0
        con = duckdb.connect(str(db), read_only=True)
        try:
            ids.append(sorted(r for (r,) in con.execute("SELECT response_id FROM core.survey_responses").fetchall()))
        finally:
            con.close()
    assert ids[0] == ids[1] and len(ids[0]) == 6


def test_a_warehouse_that_hashed_comments_into_ids_forgets_those_hashes_and_still_finds_re_exports(tmp_path):
    # Warehouses loaded before comments left the content id hold ids hashed with the comment as
    # first scrubbed. Migration 005 replaces them (in every table naming them) by random ids,
    # and a later re-export finds those responses by their content instead of their id.
    from hearth.warehouse import migrate

    db = _ten_commented_responses(tmp_path)
    header = SURVEY.splitlines()[0]
    con = duckdb.connect(str(db))
    try:
        # What an older Hearth stored: 32 hex digits hashed over the comment too.
        legacy = {i: f"{n:032x}" for n, (i,) in enumerate(con.execute(
            "SELECT response_id FROM core.survey_responses WHERE comment IS NOT NULL").fetchall())}
        con.execute("CREATE TEMP TABLE m AS SELECT * FROM (VALUES "
                    + ", ".join(f"('{a}', '{b}')" for a, b in legacy.items()) + ") v(a, b)")
        answers_before = con.execute("SELECT count(*) FROM core.survey_answers").fetchone()[0]
        con.execute("UPDATE core.survey_answers s SET response_id = m.b FROM m WHERE s.response_id = m.a")
        con.execute("INSERT INTO core.survey_responses SELECT m.b, r.* EXCLUDE (response_id) "
                    "FROM core.survey_responses r JOIN m ON r.response_id = m.a")
        con.execute("DELETE FROM core.survey_responses WHERE response_id IN (SELECT a FROM m)")
        con.execute("DELETE FROM raw.migrations WHERE version = 5")
        assert migrate(con) == [5]
        ids = {r for (r,) in con.execute("SELECT response_id FROM core.survey_responses").fetchall()}
        assert len(ids) == 10 and not ids & set(legacy.values()) and not ids & set(legacy)
        assert con.execute("SELECT count(*) FROM core.survey_answers WHERE response_id IN "
                           "(SELECT response_id FROM core.survey_responses)").fetchone()[0] == answers_before
    finally:
        con.close()
    later = tmp_path / "later"
    later.mkdir()
    (later / "members.csv").write_text(
        "member_id,name,email,group_id,joined_on,left_on,role,tier\n"
        "m09,Zara Quill,,g01,2025-06-01,,member,standard\n", encoding="utf-8")
    assert main(["--db", str(db), "ingest", str(later / "members.csv"), "--no-refresh"]) == 0
    again = tmp_path / "again"
    again.mkdir()
    # The re-export lists its rows in another order, one late response more.
    rows = _late_rows(range(11), _commented)
    (again / "survey_responses.csv").write_text(
        "\n".join([header, *reversed(rows)]) + "\n", encoding="utf-8")
    assert main(["--db", str(db), "ingest", str(again / "survey_responses.csv"), "--no-refresh"]) == 0
    assert _responses(db) == 11
    assert _manifest(db)[-1] == (11, 1, 10, 0)
