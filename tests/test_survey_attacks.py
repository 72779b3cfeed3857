"""Red team, session 20: malformed survey exports that made a respondent's row a header row.

Each test is an attack that printed or stored what a respondent typed before its fix."""

from __future__ import annotations

from tests.test_survey_privacy import SECRETS, SURVEYMONKEY_NO_SECOND_HEADER, parse, traces


def test_a_surveymonkey_respondent_row_with_blank_ids_and_dates_is_never_a_header_row(tmp_path):
    """Attack: the second header row deleted and the first respondent's ids and dates blank
    (a partial response, or cells cleared by hand): the row did not look like a response, so it
    was read as the second header row - "First Name [Zephyrine]", "Last Name [Quillfeather]",
    "Custom Data 1 [crm-778]" printed among the dropped columns and stored in the manifest, and
    their answers ("[Disagree]", "[Agree]") printed as option labels. The tool leaves its second
    header row blank under its own columns; a row with a name or an email there is data."""
    path = tmp_path / "Hearth check-in.csv"
    path.write_text(SURVEYMONKEY_NO_SECOND_HEADER.replace(
        "114227465891,431234567,10/03/2025 07:30:00 PM,10/03/2025 07:33:10 PM,", ",,,,"),
        encoding="utf-8")
    p = parse(path, "surveymonkey")
    assert [s for s in SECRETS if s in traces(p)] == []
    assert not [n for n in p.notes if "[Disagree]" in n or "[Agree]" in n]
    assert p.dropped_columns == ["Respondent ID", "Collector ID", "IP Address", "Email Address",
                                 "First Name", "Last Name", "Custom Data 1"]
    assert any("second header row" in n and "missing" in n for n in p.notes)
    assert p.rows_read == 2  # the respondent's row is read as a response (set aside: no time)
