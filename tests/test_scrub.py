"""Free text is scrubbed and identifying questions are recognised before anything is stored."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import pytest

from hearth.config import Config
from pipelines.ingest import ingest_paths
from pipelines.report import format_summaries
from pipelines.scrub import Scrubber, fold, identifying_question, phone_region
from tests.community import SURVEY, write_community

ROSTER = ["Ada Okafor", "Ben Ruiz", "Chen Wei", "José Ñúñez", "Haddad, Dina", "Will Turner",
          "Grace Li", "Ana de Souza", "Mary-Jane Watson"]
SCRUB = Scrubber.for_roster(ROSTER, "GB")


def scrub(text: str) -> str:
    return SCRUB.scrub(text)[0]


@pytest.mark.parametrize(("text", "expected"), [
    ("write to ada.okafor+hearth@example.org.", "write to [email]."),
    ("ada (at) example (dot) org", "[email]"),
    ("call me on 07700 900123", "call me on [phone]"),
    ("or +44 20 7946 0958, or +1 415 555 0132", "or [phone], or [phone]"),
    ("my cell: 555-123-4567", "my cell: [phone]"),
    ("see https://example.org/u/ada?x=1, thanks", "see [link], thanks"),
    ("www.ada-okafor.net and adaokafor.co.uk/blog", "[link] and [link]"),
    ("follow @ada_okafor on insta", "follow [link] on insta"),
])
def test_emails_phones_links_and_handles_become_placeholders(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Ada Okafor helped me", "[name] helped me"),
    ("thanks ada and BEN!", "thanks [name] and [name]!"),
    ("jose nunez and JOSÉ ÑÚÑEZ", "[name] and [name]"),            # accents folded both ways
    ("Dina Haddad's idea", "[name]'s idea"),                        # roster 'Last, First'
    ("Mary-Jane Watson, Mary Jane, Watson", "[name], [name], [name]"),
    ("Ana de Souza; de acuerdo con Ana", "[name]; de acuerdo con [name]"),
    ("I met Will. I will come; Grace said hi, by grace", "I met [name]. I will come; [name] said hi, by grace"),
    ("Adamant Benefits chenille", "Adamant Benefits chenille"),     # word boundaries
])
def test_rostered_names_are_replaced_case_and_accent_insensitively(text, expected):
    assert scrub(text) == expected


def test_ordinary_text_numbers_and_dates_are_left_alone():
    text = "12 sessions in 2025, 45 minutes at 18:30 on 2025-06-01 (or 01/06/2025); e.g. Node.js"
    assert SCRUB.scrub(text) == (text, Counter())


def test_counts_are_per_placeholder_kind():
    _, counts = SCRUB.scrub("Ada: ada@example.org, 07700 900123, https://x.org, Ben")
    assert counts == Counter({"name": 2, "email": 1, "phone": 1, "link": 1})


def test_fold_keeps_positions():
    assert fold("José Ñúñez") == "jose nunez"
    assert len(fold("ŞİĞ ß")) == len("ŞİĞ ß")


def test_phone_region_comes_from_config_or_the_time_zone():
    assert phone_region("fr", "Europe/London") == "FR"
    assert phone_region(None, "Europe/London") == "GB"
    assert phone_region(None, "UTC") is None


@pytest.mark.parametrize("text", [
    "Your e-mail (so your coach can follow up)", "Email Address", "RecipientEmail",
    "What is your name?", "First Name", "IPAddress", "LocationLatitude", "ResponseId",
    "Phone number", "¿Cuál es tu correo electrónico?", "Nombre y apellidos",
    "Votre adresse électronique", "Prénom", "Ihr Vorname", "Telefonnummer", "Qual é o seu nome?",
    "Il tuo indirizzo email", "Je achternaam",
])
def test_identifying_questions_are_recognised_by_text_in_every_language(text):
    assert identifying_question(text)


@pytest.mark.parametrize("text", [
    "Q4", "I feel I belong in my group.", "Which group are you in?", "Any other comments",
    "It is safe to take a risk in this group.", "¿A qué grupo perteneces?", "submitdate",
])
def test_ordinary_questions_are_not_identifying(text):
    assert not identifying_question(text)


# --- the attack: free text keeps identities ---------------------------------------------------

LEAKY_SURVEY = SURVEY.replace(
    "Glad I came.",
    '"Ada Okafor helped, mail ada.okafor@example.org or call 07700 900123, https://ada.example.org"',
).replace(",g01,ben@example.org,", ",The Ruiz family group,ben@example.org,")


def test_a_comment_naming_a_member_with_email_and_phone_is_stored_scrubbed(tmp_path, capsys):
    """Attack (issue 8): a name, email and phone typed into a comment were stored and shown."""
    folder = write_community(tmp_path / "in", survey_responses=LEAKY_SURVEY)
    db = tmp_path / "w.duckdb"
    summaries = ingest_paths([folder], db=db, config=Config())
    survey = summaries[-1]
    assert survey.reconciles and survey.rows_loaded == 2
    assert survey.scrubbed == {"email": 1, "phone": 1, "link": 1, "name": 1}
    assert survey.groups_unknown == 1
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.execute(
            "SELECT group_id, comment FROM core.survey_responses ORDER BY submitted_at"
        ).fetchall()
        manifest = con.execute(
            "SELECT notes FROM raw.load_manifest WHERE kind = 'survey_responses'"
        ).fetchone()[0]
    finally:
        con.close()
    assert stored == [
        ("g01", "[name] helped, mail [email] or call [phone], [link]"),
        (None, None),  # a group nobody has is stored as no known group, never as typed
    ]
    assert "comments scrubbed before storage: 1 [email], 1 [phone], 1 [link], 1 [name]" in manifest
    printed = format_summaries(summaries) + json.dumps([s.as_dict() for s in summaries])
    for secret in ("Okafor", "ada.okafor", "07700", "ada.example", "Ruiz family"):
        assert secret not in printed + repr(manifest)


def test_a_group_named_by_its_name_in_another_case_is_resolved(tmp_path):
    text = SURVEY.replace(",g01,ben@example.org,", ",  tuesday evening CIRCLE ,ben@example.org,")
    folder = write_community(tmp_path / "in", survey_responses=text)
    summaries = ingest_paths([folder], db=tmp_path / "w.duckdb", config=Config())
    assert summaries[-1].groups_unknown == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT group_id FROM core.survey_responses").fetchall() == [("g01",)]
    finally:
        con.close()


def test_phone_region_in_hearth_toml_is_a_two_letter_country(tmp_path):
    from hearth.config import ConfigError, load_config

    good = tmp_path / "good.toml"
    good.write_text('[program]\nphone_region = "fr"\n', encoding="utf-8")
    assert load_config(good).phone_region == "FR"
    bad = tmp_path / "bad.toml"
    bad.write_text('[program]\nphone_region = "France"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="phone_region 'France' is not a two-letter country code"):
        load_config(bad)
