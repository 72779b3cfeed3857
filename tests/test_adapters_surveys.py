"""Survey exports become exactly these anonymous canonical responses."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hearth.config import Config
from hearth.instrument import load_instrument
from pipelines.adapters import AdapterError, Parsed, detect_format, parse_export
from pipelines.adapters.common import decode

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
CONFIG = Config(
    time_zone="Europe/London",
    meetings={"Tuesday Evening Circle": "g01"},
    question_aliases={
        "Q1[SQ001]": "bel_1", "Q1[SQ002]": "bel_2", "Q2": "lon_2", "Q3": "group_id",
        "Q4": "comment",
    },
    extra_labels={"agree5": {"es": {"muy de acuerdo": 5, "de acuerdo": 4}}},
)
INSTRUMENT = load_instrument(CONFIG)
ITEMS = INSTRUMENT.item_ids
UNKNOWN_AGREE5 = ("answer label not in the instrument's agree5 map; add it under "
                  "[labels.agree5.<lang>] in hearth.toml")


def parse(relative: str, expected_format: str) -> Parsed:
    path = EXPORTS / relative
    fmt = detect_format(path, path.read_bytes()[:65536])
    assert fmt == expected_format
    parsed = parse_export(path, fmt, CONFIG, pd.DataFrame(), INSTRUMENT)
    assert parsed.kind == "survey_responses"
    assert parsed.reconciles()
    return parsed


def responses(*rows: dict) -> pd.DataFrame:
    """Expected responses: every item column present, empty unless given."""
    columns = ["survey_id", "submitted_at", "group_id", *ITEMS, "comment", "line"]
    full = [{c: "" for c in columns} | row for row in rows]
    frame = pd.DataFrame(full, columns=columns)
    frame = frame.astype({c: "str" for c in columns if c != "line"})
    frame["line"] = frame["line"].astype("int64")
    return frame


def identifying_values(relative: str, columns: list[str], header_rows: int = 1) -> set[str]:
    """Every non-empty value the export holds in its identifying columns."""
    text, _ = decode((EXPORTS / relative).read_bytes())
    rows = list(csv.reader(text.splitlines()))
    header = [c.strip() for c in rows[0]]
    return {
        r[header.index(c)] for r in rows[header_rows:] for c in columns
        if header.index(c) < len(r) and r[header.index(c)].strip()
    }


def assert_no_trace(parsed: Parsed, values: set[str]) -> None:
    text = parsed.survey.to_csv() + repr(parsed.quarantine) + repr(parsed.notes)
    assert values, "the fixture must carry identifying values for this check to mean anything"
    leaked = {v for v in values if v in text}
    assert not leaked


def test_google_forms_maps_grids_labels_zones_and_drops_the_email():
    p = parse("google_forms/Hearth quarterly check-in (Responses).csv", "google_forms")
    assert_frame_equal(p.survey, responses(
        # 6:31:58 PM EST is 23:31:58 UTC: already 21 June in London.
        {"survey_id": "2025Q2", "submitted_at": "2025-06-21T00:31:58+01:00", "group_id": "g01",
         "bel_1": "4", "bel_2": "5", "psy_1": "1", "lon_1": "1", "lead_1": "4",
         "comment": "Glad I came.", "line": 2},
        # GMT+5:30; the group answered with the meeting title maps to its id.
        {"survey_id": "2025Q3", "submitted_at": "2025-07-02T04:35:00+01:00", "group_id": "g01",
         "bel_1": "5", "bel_2": "4", "psy_1": "2", "lon_1": "2", "lead_1": "5", "line": 3},
        {"survey_id": "2025Q3", "submitted_at": "2025-07-04T04:00:00+01:00",
         "bel_1": "4", "psy_1": "4", "lon_1": "3", "lead_1": "3",
         "comment": 'It\'s, "fine" really\ntwo lines', "line": 4},
    ))
    assert p.quarantine == [(4, "bel_2", UNKNOWN_AGREE5)]
    assert p.dropped_columns == ["Email Address"]
    assert p.notes == ["identifying columns dropped: Email Address"]
    assert_no_trace(p, identifying_values(
        "google_forms/Hearth quarterly check-in (Responses).csv", ["Email Address"]))
    assert "Bastante" not in repr(p.quarantine)  # the raw answer is never repeated


def test_microsoft_forms_xlsx_drops_id_email_and_name():
    p = parse("microsoft_forms/Hearth check-in.xlsx", "microsoft_forms")
    assert_frame_equal(p.survey, responses(
        {"survey_id": "2025Q3", "submitted_at": "2025-09-10T18:04:40+01:00", "group_id": "g01",
         "bel_1": "4", "bel_3": "3", "lon_2": "1", "line": 2},
        {"survey_id": "2025Q3", "submitted_at": "2025-09-11T08:03:12+01:00",
         "bel_1": "5", "bel_3": "4", "lon_2": "3", "comment": "More evening slots please",
         "line": 3},
        # Completed just after midnight on New Year's Day: the next quarter.
        {"survey_id": "2026Q1", "submitted_at": "2026-01-01T00:02:00+00:00", "group_id": "g02",
         "bel_1": "2", "bel_3": "1", "lon_2": "2", "line": 4},
    ))
    assert p.dropped_columns == ["ID", "Email", "Name"]
    assert p.notes[0] == "times had no zone; read as Europe/London (program.time_zone)"
    assert "kim" not in p.survey.to_csv().lower()


def test_the_microsoft_forms_fixture_is_what_its_builder_writes(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "build_microsoft_forms", EXPORTS / "build_microsoft_forms.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    rebuilt = builder.build(tmp_path / "rebuilt.xlsx")
    committed = pd.read_excel(EXPORTS / "microsoft_forms/Hearth check-in.xlsx", engine="calamine")
    assert_frame_equal(pd.read_excel(rebuilt, engine="calamine"), committed)


def test_typeform_excludes_partial_responses_and_reads_utc():
    p = parse("typeform/responses.csv", "typeform")
    assert_frame_equal(p.survey, responses(
        # 23:14:05 UTC on 30 September is 1 October in London: the fourth quarter.
        {"survey_id": "2025Q4", "submitted_at": "2025-10-01T00:14:05+01:00",
         "bel_1": "5", "bel_4": "4", "lon_3": "1", "line": 2},
        {"survey_id": "2025Q4", "submitted_at": "2025-10-01T09:00:00+01:00",
         "bel_1": "2", "bel_4": "3", "lon_3": "3", "comment": "Too short, the sessions",
         "line": 3},
    ))
    assert p.rows_excluded == 1
    assert p.dropped_columns == ["#", "Network ID"]
    assert p.notes == [
        "questions not in the instrument, ignored: What brought you here?",
        "times read in UTC (as the tool writes them)",
        "1 incomplete responses excluded (Response Type partial)",
        "identifying columns dropped: #, Network ID",
    ]


def test_surveymonkey_fills_the_question_row_forward_over_matrix_rows():
    relative = "surveymonkey/Hearth check-in.csv"
    p = parse(relative, "surveymonkey")
    assert_frame_equal(p.survey, responses(
        {"survey_id": "2025Q4", "submitted_at": "2025-10-02T18:05:40+01:00", "group_id": "g01",
         "bel_1": "4", "bel_3": "5", "psy_4": "5", "lon_1": "1", "line": 3},
        {"survey_id": "2025Q4", "submitted_at": "2025-10-03T19:33:10+01:00", "group_id": "g02",
         "bel_1": "2", "bel_3": "3", "psy_4": "6", "lon_1": "3",
         "comment": "Needs more, shorter sessions", "line": 4},
    ))
    identifying = ["Respondent ID", "Collector ID", "IP Address", "Email Address", "First Name",
                   "Last Name", "Custom Data 1"]
    assert p.dropped_columns == identifying
    assert_no_trace(p, identifying_values(relative, identifying, header_rows=2))


def test_qualtrics_skips_two_header_rows_excludes_unfinished_and_reads_its_time_zone():
    relative = "qualtrics/Hearth_December_2025.csv"
    p = parse(relative, "qualtrics")
    assert_frame_equal(p.survey, responses(
        # Recorded 10:04:01 in Denver (MST, -07:00) is 17:04:01 in London (GMT).
        {"survey_id": "2025Q4", "submitted_at": "2025-12-01T17:04:01+00:00", "group_id": "g01",
         "bel_1": "4", "bel_4": "5", "lon_2": "3", "comment": "Thanks for the tea", "line": 4},
        {"survey_id": "2025Q4", "submitted_at": "2025-12-16T02:35:12+00:00", "group_id": "g02",
         "bel_1": "1", "bel_4": "2", "lon_2": "2", "line": 6},
    ))
    assert p.rows_excluded == 1
    identifying = ["IPAddress", "ResponseId", "RecipientLastName", "RecipientFirstName",
                   "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude"]
    assert p.dropped_columns == identifying
    assert "times read in America/Denver (named in the export's third row)" in p.notes
    assert_no_trace(p, identifying_values(relative, identifying, header_rows=3))


def test_limesurvey_uses_aliases_for_codes_extra_language_labels_and_skips_unsubmitted():
    p = parse("limesurvey/results-survey246813.csv", "limesurvey")
    assert_frame_equal(p.survey, responses(
        {"survey_id": "2025Q4", "submitted_at": "2025-11-03T20:15:00+00:00", "group_id": "g01",
         "bel_1": "4", "bel_2": "5", "bel_4": "4", "lon_2": "1", "line": 2},
        # "Muy de acuerdo" / "De acuerdo" come from [labels.agree5.es]; "Totalmente de
        # acuerdo" is not there, so that one answer is quarantined and the rest loads.
        {"survey_id": "2025Q4", "submitted_at": "2025-11-04T09:00:00+00:00", "group_id": "g02",
         "bel_1": "5", "bel_4": "4", "lon_2": "3", "comment": "Me gusta, gracias", "line": 4},
    ))
    assert p.quarantine == [(4, "bel_2", UNKNOWN_AGREE5)]
    assert p.rows_excluded == 1
    assert p.rows_quarantined == 0  # an answer was set aside, not the response
    assert p.dropped_columns == ["id", "ipaddr", "refurl"]
    assert "192.0.2.10" not in p.survey.to_csv()


def test_survey_quarters_follow_the_fiscal_year(tmp_path):
    config = Config(time_zone="Europe/London", fiscal_year_start_month=4)
    path = EXPORTS / "typeform/responses.csv"
    p = parse_export(path, "typeform", config, pd.DataFrame(), load_instrument(config))
    # October is the third quarter of the fiscal year April 2025 - March 2026 ("2026").
    assert p.survey["survey_id"].tolist() == ["2026Q3", "2026Q3"]


def test_a_number_outside_the_scale_is_quarantined_without_its_value(tmp_path):
    path = tmp_path / "responses.csv"
    text = (EXPORTS / "typeform/responses.csv").read_text(encoding="utf-8")
    path.write_text(text.replace("a1b2c3d4e5,5,4,", "a1b2c3d4e5,9,4,"), encoding="utf-8")
    p = parse_export(path, "typeform", CONFIG, pd.DataFrame(), INSTRUMENT)
    assert p.quarantine == [(2, "bel_1", "answer outside the item's scale 1-5; answer dropped")]
    assert p.survey["bel_1"].tolist() == ["", "2"]


def test_a_survey_whose_questions_match_nothing_says_how_to_alias_them(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text('"Timestamp","How are you?"\n"2025/06/20 6:31:58 PM EST","Fine"\n',
                    encoding="utf-8")
    with pytest.raises(AdapterError) as caught:
        parse_export(path, "google_forms", CONFIG, pd.DataFrame(), INSTRUMENT)
    assert str(caught.value) == (
        f"{path}: no question matched an item of the instrument (questions: 'How are you?'); "
        "add lines under [survey.aliases] in hearth.toml mapping the question text to an item "
        'id, e.g. "I feel at home in my group" = "bel_1"'
    )


def test_an_alias_to_an_item_the_instrument_lacks_is_refused():
    config = Config(question_aliases={"Q9": "belonging_9"})
    path = EXPORTS / "limesurvey/results-survey246813.csv"
    with pytest.raises(AdapterError, match="maps questions to belonging_9"):
        parse_export(path, "limesurvey", config, pd.DataFrame(), load_instrument(config))


def test_an_alias_cannot_carry_an_identifying_column_into_the_comment():
    config = Config(time_zone="Europe/London",
                    question_aliases={"Email Address": "comment", "Q4": "comment"})
    path = EXPORTS / "google_forms/Hearth quarterly check-in (Responses).csv"
    p = parse_export(path, "google_forms", config, pd.DataFrame(), load_instrument(config))
    assert p.dropped_columns == ["Email Address"]
    assert "@" not in p.survey.to_csv()


def test_qualtrics_survey_previews_are_excluded(tmp_path):
    path = tmp_path / "preview.csv"
    text = (EXPORTS / "qualtrics/Hearth_December_2025.csv").read_text(encoding="utf-8")
    path.write_text(text.replace("IP Address,192.0.2.55", "Survey Preview,192.0.2.55"),
                    encoding="utf-8")
    p = parse_export(path, "qualtrics", CONFIG, pd.DataFrame(), INSTRUMENT)
    assert p.survey["line"].tolist() == [4]
    assert p.rows_excluded == 2


@pytest.mark.parametrize(("second_column", "dropped"), [
    ("Email address", ["Email address"]), ("Username", ["Username"]), (None, []),
])
def test_google_forms_email_column_variants_are_dropped_or_absent(second_column, dropped,
                                                                  tmp_path):
    source = EXPORTS / "google_forms/Hearth quarterly check-in (Responses).csv"
    out = tmp_path / "variant.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        for n, row in enumerate(csv.reader(source.open(encoding="utf-8", newline=""))):
            if second_column is None:
                row = row[:1] + row[2:]
            elif n == 0:
                row[1] = second_column
            writer.writerow(row)
    p = parse_export(out, "google_forms", CONFIG, pd.DataFrame(), INSTRUMENT)
    assert p.dropped_columns == dropped
    assert p.survey["bel_1"].tolist() == ["4", "5", "4"]
    assert "@" not in p.survey.to_csv()


def test_an_older_typeform_export_without_response_type_reads_every_row(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text(
        "#,I feel I belong in my group.,Start Date (UTC),Submit Date (UTC)\n"
        "a1,4,2021-03-01 10:00:00,2021-03-01 10:03:00\n"
        "b2,Agree,2021-03-02 10:00:00,2021-03-02 10:02:00\n",
        encoding="utf-8",
    )
    assert detect_format(old, old.read_bytes()) == "typeform"
    p = parse_export(old, "typeform", CONFIG, pd.DataFrame(), INSTRUMENT)
    assert p.survey[["survey_id", "submitted_at", "bel_1"]].values.tolist() == [
        ["2021Q1", "2021-03-01T10:03:00+00:00", "4"],
        ["2021Q1", "2021-03-02T10:02:00+00:00", "4"],
    ]
    assert p.dropped_columns == ["#"]
