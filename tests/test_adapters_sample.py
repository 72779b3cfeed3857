"""The bundled sample carries real-format exports that agree with its canonical files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from hearth.config import load_config
from hearth.instrument import load_instrument
from pipelines.adapters import FORMATS, detect_format, parse_export

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
EXPORTS = SAMPLE / "exports"
REBUILD = "re-run `.venv/bin/python tests/fixtures/exports/build_sample_exports.py`"


@pytest.fixture(scope="module")
def sample():
    if not (SAMPLE / "members.csv").exists():
        pytest.fail(f"{SAMPLE} holds no sample; run `hearth synth --out data/sample`")
    config = load_config(SAMPLE / "hearth.toml")
    members = pd.read_csv(SAMPLE / "members.csv", dtype=str, keep_default_na=False)
    groups = pd.read_csv(SAMPLE / "groups.csv", dtype=str, keep_default_na=False)
    roster = members.merge(groups[["group_id", "name"]].rename(columns={"name": "group_name"}),
                           on="group_id")
    return config, roster, load_instrument(config)


def exports_of(kind: str) -> list[tuple[Path, str]]:
    found = [(p, detect_format(p, p.read_bytes()[:65536])) for p in sorted(EXPORTS.iterdir())]
    return [(p, fmt) for p, fmt in found if fmt and FORMATS[fmt].kind == kind]


def test_the_sample_has_a_meeting_export_and_a_survey_export():
    assert [fmt for _, fmt in exports_of("attendance")] == ["zoom_new"], REBUILD
    assert [fmt for _, fmt in exports_of("survey_responses")] == ["google_forms"], REBUILD


def test_the_sample_meeting_is_an_extra_session_in_the_last_quarter_attended_by_its_roster(sample):
    config, roster, instrument = sample
    (path, fmt), = exports_of("attendance")
    parsed = parse_export(path, fmt, config, roster, instrument)
    session = parsed.sessions.iloc[0]
    group = session["group_id"]
    day = date.fromisoformat(session["starts_at"][:10])
    canonical = pd.read_csv(SAMPLE / "sessions.csv", dtype=str)
    last = max(date.fromisoformat(s[:10])
               for s in canonical.loc[canonical["group_id"] == group, "starts_at"])
    assert day < last and (day.year, (day.month - 1) // 3) == (last.year, (last.month - 1) // 3), REBUILD
    assert day.isoformat() not in {s[:10] for s in canonical.loc[canonical["group_id"] == group, "starts_at"]}
    active = roster[(roster["group_id"] == group) & (roster["joined_on"] <= day.isoformat())
                    & ((roster["left_on"] == "") | (roster["left_on"] > day.isoformat()))]
    assert set(parsed.attendance["member_id"]) <= set(active["member_id"]), REBUILD
    assert len(parsed.attendance) == max(3, active["member_id"].nunique() - 2)
    assert parsed.guests == [] and parsed.quarantine == []  # the demo loads with nothing quarantined
    assert (parsed.rows_merged, parsed.rows_excluded) == (2, 0)
    assert session["host_member_id"] in set(active["member_id"])
    assert parsed.notes == ["times had no zone; read as Europe/London (program.time_zone)"]


def test_the_sample_survey_export_adds_late_responses_to_the_last_survey_with_emails_dropped(sample):
    config, roster, instrument = sample
    (path, fmt), = exports_of("survey_responses")
    parsed = parse_export(path, fmt, config, roster, instrument)
    assert parsed.quarantine == [] and parsed.rows_excluded == 0
    assert parsed.dropped_columns == ["Email Address"]
    assert len(parsed.survey) == 6
    assert (parsed.survey[instrument.item_ids] != "").all().all()  # every item answered
    canonical = pd.read_csv(SAMPLE / "survey_responses.csv", dtype=str)
    last = max(datetime.fromisoformat(s) for s in canonical["submitted_at"])
    submitted = [datetime.fromisoformat(s) for s in parsed.survey["submitted_at"]]
    assert max(submitted) < last and {(s.year, (s.month - 1) // 3) for s in submitted} == {
        (last.year, (last.month - 1) // 3)}
    emails = set(roster["email"])
    assert not any(e and e in parsed.survey.to_csv() for e in emails)
