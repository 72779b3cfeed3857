"""Exports are recognised by their content, and `hearth formats` lists every one."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

import pipelines.adapters.formats as modules
from hearth.cli import main
from pipelines.adapters import FORMATS, detect_format, unknown_format_message
from pipelines.adapters.common import decode, read_rows
from pipelines.adapters.detect import signature_weights

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
EXPECTED = {
    "zoom_classic/participants_84512345678.csv": "zoom_classic",
    "zoom_meeting_data/meeting_data_export.csv": "zoom_meeting_data",
    "zoom_new/participants_new_interface.csv": "zoom_new",
    "zoom_new/partecipanti_italiano.csv": "zoom_new",
    "teams_legacy/Wednesday Lunch Circle.csv": "teams_legacy",
    "teams_2021/meetingAttendanceReport.csv": "teams_2021",
    "teams_current/Attendance report en-GB.csv": "teams_current",
    "teams_current/Attendance report en-US.csv": "teams_current",
    "teams_current/Attendance report ambiguous dates.csv": "teams_current",
    "google_meet/2025-04-22 18:30 Tuesday Evening Circle - Attendance Report.csv": "google_meet",
    "meetup/2025-05-06 18:30 Thursday Walkers.csv": "meetup",
    "luma/Thursday Walkers - Guests.csv": "luma",
    "eventbrite/2025-05-20 18:30 attendee report.csv": "eventbrite",
    "google_forms/Hearth quarterly check-in (Responses).csv": "google_forms",
    "microsoft_forms/Hearth check-in.xlsx": "microsoft_forms",
    "typeform/responses.csv": "typeform",
    "surveymonkey/Hearth check-in.csv": "surveymonkey",
    "qualtrics/Hearth_December_2025.csv": "qualtrics",
    "qualtrics_legacy/Hearth_check-in_legacy.csv": "qualtrics_legacy",
    "limesurvey/results-survey579135 code and text.csv": "limesurvey",
    "zoom_classic/participants_84598765432.csv": "zoom_classic",
    "zoom_classic/participants_84511112222.csv": "zoom_classic",
    "zoom_classic/participants_84522223333.csv": "zoom_classic",
    "zoom_classic/participants_84533334444.csv": "zoom_classic",
    "zoom_classic/participants_84544445555.csv": "zoom_classic",
    "teams_2021/Cercle du mardi.csv": "teams_2021",
    "teams_2021/Kamis semicolon.csv": "teams_2021",
    "luma/Friday Walk - Guests before the event.csv": "luma",
    "limesurvey/results-survey246813.csv": "limesurvey",
}


@pytest.mark.parametrize(("relative", "fmt"), sorted(EXPECTED.items()))
def test_each_export_is_recognised_by_its_content(relative, fmt, tmp_path):
    source = EXPORTS / relative
    # The same bytes under a meaningless name are still recognised: detection is by content.
    renamed = tmp_path / ("export" + source.suffix)
    renamed.write_bytes(source.read_bytes())
    assert detect_format(renamed, renamed.read_bytes()[:65536]) == fmt


def test_every_format_has_a_fixture():
    assert set(EXPECTED.values()) == set(FORMATS)


def test_every_format_module_is_in_the_registry():
    # Adding a format is adding one module: the registry finds it without a list to edit.
    names = {m.name for m in pkgutil.iter_modules(modules.__path__) if not m.name.startswith("_")}
    assert names == set(FORMATS)
    assert all(FORMATS[name].name == name for name in names)


@pytest.mark.parametrize(("relative", "fmt"), sorted(EXPECTED.items()))
def test_no_fixture_matches_another_format_as_specifically(relative, fmt):
    # Detection takes the signature naming the most header words: a tie would be a coin toss.
    source = EXPORTS / relative
    if source.suffix == ".xlsx":
        return
    rows = [r for r in read_rows(decode(source.read_bytes())[0])[:60] if not r.blank()]
    weights = signature_weights(rows)
    assert all(w < weights[fmt] for name, w in weights.items() if name != fmt)


def test_a_head_cut_mid_line_is_still_recognised():
    raw = (EXPORTS / "zoom_classic/participants_84512345678.csv").read_bytes()
    assert detect_format(Path("x.csv"), raw[:400]) == "zoom_classic"


@pytest.mark.parametrize("relative", ["not_exports/webex_attendees.csv",
                                      "not_exports/attendance.csv", "roster.csv"])
def test_files_that_are_no_known_export_are_not_claimed(relative):
    path = EXPORTS / relative
    assert detect_format(path, path.read_bytes()) is None


def test_a_broken_workbook_is_not_claimed(tmp_path):
    path = tmp_path / "responses.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    assert detect_format(path, path.read_bytes()) is None


def test_the_unknown_file_message_lists_formats_and_how_to_map_a_new_one():
    message = unknown_format_message(Path("webex_attendees.csv"))
    assert message.splitlines()[0] == (
        "webex_attendees.csv: not a canonical Hearth CSV and not an export Hearth recognises."
    )
    for name, info in FORMATS.items():
        assert f"  {name:<18} {info.title}" in message
    assert "hearth ingest --format NAME FILE" in message
    assert "[meetings] in hearth.toml" in message


def test_hearth_formats_lists_every_format_with_how_to_export_it(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name, info in FORMATS.items():
        assert f"  {name:<18} {info.title}\n" in out
    assert out.count("export: ") == len(FORMATS)
    assert max(len(line) for line in out.splitlines()) <= 100


def test_every_format_is_documented_in_docs_formats():
    docs = (Path(__file__).parents[1] / "docs" / "formats.md").read_text(encoding="utf-8")
    for name in FORMATS:
        assert f"`{name}`" in docs


def test_forcing_the_wrong_format_gives_a_message_never_a_traceback():
    import pandas as pd

    from hearth.config import Config
    from hearth.instrument import load_instrument
    from pipelines.adapters import AdapterError, parse_export

    config = Config(meetings={"84512345678": "g01", "Tuesday Evening Circle": "g01",
                              "Thursday Walkers": "g02", "Wednesday Lunch Circle": "g03"})
    roster = pd.read_csv(EXPORTS / "roster.csv", dtype=str, keep_default_na=False)
    instrument = load_instrument(config)
    unexpected = []
    for relative, actual in EXPECTED.items():
        for fmt in FORMATS:
            if fmt == actual:
                continue
            try:
                parse_export(EXPORTS / relative, fmt, config, roster, instrument)
            except AdapterError as exc:
                assert str(exc).startswith(str(EXPORTS / relative))
            except Exception as exc:  # noqa: BLE001 - the point is that none escapes
                unexpected.append((relative, fmt, repr(exc)))
    assert unexpected == []
