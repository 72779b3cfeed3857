"""Roles from hearth.toml [access]: who is a lead, council member or coach, which groups a coach
sees members of, and `hearth access`."""

from __future__ import annotations

import json

import pytest

from hearth.access import (
    AccessRules,
    Viewer,
    coach_groups,
    local_viewer,
    parse_access,
    resolve_viewer,
    role_of,
    whom_to_ask,
)
from hearth.cli import main
from hearth.config import load_config
from hearth.errors import ConfigError

RULES = parse_access({
    "leads": ["Lead@Example.org"],
    "council": ["@council.example.org"],
    "coaches": ["isaac@example.org", "@coaches.example.org"],
    "coach_names": {"isaac@example.org": "Isaac Boateng"},
    "coach_groups": {"pat@coaches.example.org": ["g11", "g12"]},
}, "hearth.toml")
GROUP_COACHES = {"g01": "Isaac Boateng", "g02": "isaac  boateng", "g06": "Oscar Quinn",
                 "g07": None}


def test_emails_match_exactly_and_domains_match_every_address_at_that_domain():
    assert role_of(RULES, "lead@example.org") == "lead"  # entries are lower-cased
    assert role_of(RULES, "cora@council.example.org") == "council"
    assert role_of(RULES, "cora@sub.council.example.org") is None  # not subdomains
    assert role_of(RULES, "x@example.org") is None
    assert role_of(RULES, "evil@council.example.org.attacker.test") is None
    assert role_of(RULES, None) is None


def test_a_person_under_several_roles_gets_lead_then_coach_then_council():
    rules = parse_access({"leads": ["a@x.org"], "council": ["@x.org"], "coaches": ["a@x.org",
                                                                                  "b@x.org"]})
    assert role_of(rules, "a@x.org") == "lead"
    assert role_of(rules, "b@x.org") == "coach"
    assert role_of(rules, "c@x.org") == "council"


def test_a_role_claim_from_the_provider_gives_a_role_too():
    rules = parse_access({"role_claim": "hearth_role"})
    assert role_of(rules, "x@y.org", {"hearth_role": ["council"]}) == "council"
    assert role_of(rules, "x@y.org", {"hearth_role": "Coaches"}) == "coach"
    assert role_of(rules, "x@y.org", {"hearth_role": "admin"}) is None
    assert role_of(rules, "x@y.org", {}) is None


def test_a_coach_sees_the_groups_whose_coach_field_is_their_mapped_or_signed_in_name():
    assert coach_groups(RULES, "isaac@example.org", "Isaac B.", GROUP_COACHES) == {"g01", "g02"}
    # no [access.coach_names] entry: the name they sign in with
    assert coach_groups(RULES, "oscar@coaches.example.org", "Oscar Quinn",
                        GROUP_COACHES) == {"g06"}
    assert coach_groups(RULES, "pat@coaches.example.org", "Pat", GROUP_COACHES) == {"g11", "g12"}
    assert coach_groups(RULES, "nobody@coaches.example.org", None, GROUP_COACHES) == frozenset()


def test_resolve_viewer_from_id_token_claims():
    lead = resolve_viewer(RULES, {"email": "LEAD@example.org", "name": "Lena"}, GROUP_COACHES)
    assert lead == Viewer(email="lead@example.org", name="Lena", role="lead", groups=None)
    coach = resolve_viewer(RULES, {"email": "isaac@example.org", "email_verified": True},
                           GROUP_COACHES)
    assert (coach.role, coach.groups) == ("coach", frozenset({"g01", "g02"}))
    council = resolve_viewer(RULES, {"email": "c@council.example.org"}, GROUP_COACHES)
    assert (council.role, council.groups) == ("council", frozenset())
    assert not council.may_see_members_of("g01")
    nobody = resolve_viewer(RULES, {"email": "x@y.org", "name": "X"}, GROUP_COACHES)
    assert (nobody.role, nobody.groups) == (None, frozenset())


def test_an_email_the_provider_has_not_verified_gives_no_role():
    viewer = resolve_viewer(RULES, {"email": "lead@example.org", "email_verified": False})
    assert viewer.role is None and viewer.email is None


def test_local_mode_is_one_user_with_the_chosen_audience():
    assert local_viewer("coach") == Viewer(None, None, "coach", None, local=True)
    assert local_viewer("council").groups == frozenset()


def test_whom_to_ask_is_the_contact_or_the_leads_by_email():
    assert whom_to_ask(RULES) == "the program lead (lead@example.org)"
    assert whom_to_ask(parse_access({"contact": "Ana (ana@x.org)"})) == "Ana (ana@x.org)"
    assert whom_to_ask(AccessRules()) == "the program lead"


@pytest.mark.parametrize(("raw", "message"), [
    ({"leads": ["bob"]}, "leads entry 'bob' is neither an email nor an @domain"),
    ({"leads": "@example"}, "leads entry '@example' is neither an email nor an @domain"),
    ({"coaches": {"a": 1}}, "coaches must be a list of emails or @domains"),
    ({"lead": ["a@x.org"]}, "has no setting 'lead'"),
    ({"coaches": ["a@x.org"], "coach_names": {"b@x.org": "B"}},
     "maps b@x.org to groups but b@x.org is not in coaches"),
    ({"coaches": ["a@x.org"], "coach_groups": {"a@x.org": []}}, "must list group ids"),
    ({"coaches": ["a@x.org"], "coach_names": {"A": "B"}}, "key 'A' is not an email"),
])
def test_access_mistakes_are_one_line_config_errors(tmp_path, raw, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_access(raw, tmp_path / "hearth.toml")
    assert "\n" not in str(caught.value)


def test_the_config_loader_reads_access(tmp_path, capsys):
    path = tmp_path / "hearth.toml"
    path.write_text('[access]\nleads = ["me@x.org"]\n', encoding="utf-8")
    assert load_config(path).access.leads == ("me@x.org",)
    path.write_text('[access]\nleads = ["me"]\n', encoding="utf-8")
    assert main(["--config", str(path), "access"]) == 2
    assert capsys.readouterr().err.startswith(f"hearth: {path}: [access] leads entry 'me'")


def test_hearth_init_template_has_a_valid_access_section(tmp_path):
    path = tmp_path / "hearth.toml"
    assert main(["init", str(path)]) == 0
    assert load_config(path).access == AccessRules()


def test_hearth_access_prints_roles_and_each_coachs_groups(sample_warehouse, access_config,
                                                           capsys):
    assert main(["--db", str(sample_warehouse), "--config", str(access_config), "access"]) == 0
    text = capsys.readouterr().out
    assert "  lead     lead@example.org" in text
    assert "  council  @council.example.org" in text
    assert ("groups by coach name 'Isaac Boateng': g01 Tuesday Lunchtime Table, "
            "g02 Tuesday Lunchtime Kitchen Table") in text
    assert "oscar@example.org\n           groups: those whose coach is the name they sign in " \
           "with" in text
    assert "Someone without a role is told to ask Lena Lead (lead@example.org)." in text

    assert main(["--db", str(sample_warehouse), "--config", str(access_config), "access",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["leads"] == ["lead@example.org"]
    isaac = data["coaches"][0]
    assert [g["group_id"] for g in isaac["groups"]] == ["g01", "g02", "g03", "g04", "g05"]
    assert "Oscar Quinn" in data["coach_names_without_mapping"]
    assert "Isaac Boateng" not in data["coach_names_without_mapping"]


def test_hearth_access_without_a_warehouse_still_lists_the_roles(tmp_path, access_config,
                                                                  capsys):
    assert main(["--db", str(tmp_path / "none.duckdb"), "--config", str(access_config),
                 "access"]) == 0
    text = capsys.readouterr().out
    assert "  coach    isaac@example.org\n           groups: those whose coach is " \
           "'Isaac Boateng'" in text
    assert "No groups are published yet" in text
