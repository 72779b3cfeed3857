"""Who is looking: the signed-in person, their role, and the groups they may see members of.

Roles (BRIEF §2): the **lead** is the program's data steward (everything, including uploads and
sign-off); the **council** sees aggregates only; a **coach** sees member-level views of the groups
they coach and aggregates of the rest. Someone signed in without a role sees nothing but whom to ask.

Roles come from hearth.toml's [access] section (docs/deploy.md)::

    [access]
    leads   = ["ana.lima@example.org"]
    council = ["@council.example.org"]          # anyone whose email is at this domain
    coaches = ["isaac@example.org", "oscar@example.org"]
    contact = "Ana Lima (ana.lima@example.org)"  # whom someone without a role should ask
    role_claim = "hearth_role"                  # optional: a claim from the provider

    [access.coach_names]                        # email -> the name in the groups' coach field
    "isaac@example.org" = "Isaac Boateng"

    [access.coach_groups]                       # or: email -> group ids, outright
    "oscar@example.org" = ["g06", "g07"]

This module is pure: it never reads the warehouse. Whoever resolves a viewer passes in which
coach each group has (group_id -> coach name), read from the snapshot by the dashboard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hearth.errors import ConfigError

ROLES = ("lead", "council", "coach")
# A person named under several roles gets the first of these: a lead sees everything, and a
# coach keeps their coaching view (a council member who also coaches is first of all a coach).
PRECEDENCE = ("lead", "coach", "council")
LOCAL_ACTOR = "local"  # who did it, in local mode (no sign-in)
ROLE_TITLES = {"lead": "Program lead", "council": "Advisory council", "coach": "Coach"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Viewer:
    """One person using Hearth. `groups` are the groups whose members they may see:
    every group for a lead (None), their own for a coach, none for the council."""

    email: str | None
    name: str | None
    role: str | None                  # one of ROLES, or None: signed in without a role
    groups: frozenset[str] | None = frozenset()
    local: bool = False               # local mode: single user on localhost, no sign-in

    @property
    def actor(self) -> str:
        """How this person is named in the audit log and on actions."""
        return self.email or self.name or LOCAL_ACTOR

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"

    def may_see_members_of(self, group_id: str) -> bool:
        if self.role == "lead":
            return True
        return self.role == "coach" and self.groups is not None and group_id in self.groups


def local_viewer(audience: str = "lead") -> Viewer:
    """The single user of local mode, seeing the audience chosen with --audience."""
    return Viewer(email=None, name=None, role=audience,
                  groups=None if audience in ("lead", "coach") else frozenset(), local=True)


# --- the [access] section -----------------------------------------------------------------------

@dataclass(frozen=True)
class AccessRules:
    """hearth.toml [access]: who has which role. Entries are lower-cased emails or '@domain'."""

    leads: tuple[str, ...] = ()
    council: tuple[str, ...] = ()
    coaches: tuple[str, ...] = ()
    coach_names: dict[str, str] = field(default_factory=dict)               # email -> coach
    coach_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # email -> groups
    role_claim: str | None = None     # an ID-token claim naming the role(s), if the provider sets one
    groups_claim: str | None = None   # an ID-token claim listing a coach's group ids
    contact: str | None = None        # whom someone without a role should ask

    @property
    def names_anyone(self) -> bool:
        return bool(self.leads or self.council or self.coaches or self.role_claim)

    def entries(self, role: str) -> tuple[str, ...]:
        return {"lead": self.leads, "council": self.council, "coach": self.coaches}[role]


def _entry_list(raw: Mapping, key: str, source: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{source}: [access] {key} must be a list of emails or @domains, "
                          f"e.g. {key} = [\"ana@example.org\", \"@example.org\"]")
    entries = []
    for item in value:
        entry = str(item).strip().lower()
        if not (_EMAIL.match(entry) or _DOMAIN.match(entry)):
            raise ConfigError(f"{source}: [access] {key} entry {str(item)!r} is neither an email "
                              "nor an @domain; write it as 'ana@example.org' or '@example.org'")
        entries.append(entry)
    return tuple(entries)


def _email_key(key: object, table: str, source: str) -> str:
    email = str(key).strip().lower()
    if not _EMAIL.match(email):
        raise ConfigError(f"{source}: [access.{table}] key {str(key)!r} is not an email; "
                          "each key is a coach's sign-in email")
    return email


def parse_access(raw: object, source: str | Path | None = None) -> AccessRules:
    """The [access] table of hearth.toml as AccessRules; ConfigError names what to fix."""
    where = str(source or "hearth.toml")
    if not raw:
        return AccessRules()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: [access] must be a table; see docs/deploy.md")
    known = {"leads", "council", "coaches", "coach_names", "coach_groups", "role_claim",
             "groups_claim", "contact"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: [access] has no setting {unknown[0]!r}; "
                          f"use {', '.join(sorted(known))}")
    coaches = _entry_list(raw, "coaches", where)
    names_raw = raw.get("coach_names", {})
    groups_raw = raw.get("coach_groups", {})
    if not isinstance(names_raw, Mapping) or not isinstance(groups_raw, Mapping):
        raise ConfigError(f"{where}: [access.coach_names] and [access.coach_groups] must be "
                          "tables of email = value")
    coach_names = {_email_key(k, "coach_names", where): str(v).strip()
                   for k, v in names_raw.items()}
    coach_groups = {}
    for key, value in groups_raw.items():
        email = _email_key(key, "coach_groups", where)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: [access.coach_groups] {email} must list group ids, "
                              "e.g. [\"g06\", \"g07\"]")
        coach_groups[email] = tuple(str(g).strip() for g in value)
    for email in [*coach_names, *coach_groups]:
        if not any(_matches(entry, email) for entry in coaches):
            raise ConfigError(f"{where}: [access] maps {email} to groups but {email} is not in "
                              "coaches; add them to coaches (or remove the mapping)")
    return AccessRules(
        leads=_entry_list(raw, "leads", where),
        council=_entry_list(raw, "council", where),
        coaches=coaches,
        coach_names=coach_names,
        coach_groups=coach_groups,
        role_claim=str(raw["role_claim"]).strip() if raw.get("role_claim") else None,
        groups_claim=str(raw["groups_claim"]).strip() if raw.get("groups_claim") else None,
        contact=str(raw["contact"]).strip() if raw.get("contact") else None,
    )


# --- resolving a signed-in person ----------------------------------------------------------------

def _matches(entry: str, email: str) -> bool:
    """An exact email, or '@domain' for every address at exactly that domain (not subdomains)."""
    if entry.startswith("@"):
        return email.rpartition("@")[2] == entry[1:]
    return email == entry


def _claim_values(claims: Mapping, name: str | None) -> list[str]:
    if not name or name not in claims or claims[name] is None:
        return []
    value = claims[name]
    items = value if isinstance(value, list | tuple | set | frozenset) else \
        re.split(r"[,\s]+", str(value))
    return [str(v).strip() for v in items if str(v).strip()]


def verified_email(claims: Mapping) -> str | None:
    """The person's email, lower-cased; None when the provider says it is not verified
    (an unverified address is only what someone typed, so it names no one)."""
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is False:
        return None
    return email


def roles_of(rules: AccessRules, email: str | None, claims: Mapping | None = None) -> list[str]:
    """Every role the person has, from the [access] lists and the role claim, best first."""
    found = set()
    if email:
        for role in ROLES:
            if any(_matches(entry, email) for entry in rules.entries(role)):
                found.add(role)
    for value in _claim_values(claims or {}, rules.role_claim):
        role = {"leads": "lead", "coaches": "coach"}.get(value.lower(), value.lower())
        if role in ROLES:
            found.add(role)
    return [r for r in PRECEDENCE if r in found]


def role_of(rules: AccessRules, email: str | None, claims: Mapping | None = None) -> str | None:
    """The role that decides what the person sees (see PRECEDENCE), or None."""
    roles = roles_of(rules, email, claims)
    return roles[0] if roles else None


def same_name(a: object, b: object) -> bool:
    """Names compared as people write them: case, accents' case and spacing aside."""
    def norm(x: object) -> str:
        return " ".join(str(x or "").split()).casefold()
    return bool(norm(a)) and norm(a) == norm(b)


def coach_groups(rules: AccessRules, email: str | None, name: str | None,
                 group_coaches: Mapping[str, str | None],
                 claims: Mapping | None = None) -> frozenset[str]:
    """The groups a coach coaches, by the first of: [access.coach_groups] for their email; the
    groups claim; the groups whose coach field is their [access.coach_names] name, or else the
    name they signed in with."""
    if email and email in rules.coach_groups:
        return frozenset(rules.coach_groups[email])
    claimed = _claim_values(claims or {}, rules.groups_claim)
    if claimed:
        return frozenset(claimed)
    coach = rules.coach_names.get(email or "") or name
    return frozenset(g for g, c in group_coaches.items() if c and same_name(c, coach))


def resolve_viewer(rules: AccessRules, claims: Mapping,
                   group_coaches: Mapping[str, str | None] | None = None) -> Viewer:
    """The Viewer for a signed-in person's ID-token claims (email, name, and any role claim)."""
    email = verified_email(claims)
    name = str(claims.get("name") or "").strip() or None
    role = role_of(rules, email, claims)
    groups: frozenset[str] | None = frozenset()
    if role == "lead":
        groups = None
    elif role == "coach":
        groups = coach_groups(rules, email, name, group_coaches or {}, claims)
    return Viewer(email=email, name=name, role=role, groups=groups)


def whom_to_ask(rules: AccessRules) -> str:
    """Who gives people a role: the [access] contact, else the leads named by email."""
    if rules.contact:
        return rules.contact
    named = [e for e in rules.leads if not e.startswith("@")]
    return f"the program lead ({', '.join(named)})" if named else "the program lead"


# --- `hearth access` -----------------------------------------------------------------------------

def access_summary(rules: AccessRules, group_coaches: Mapping[str, str | None],
                   group_names: Mapping[str, str] | None = None) -> dict:
    """Who has which role, and each coach's groups as far as hearth.toml and the groups tell.

    A coach without a [access.coach_names] or [access.coach_groups] entry is matched by the name
    they sign in with, which is only known at sign-in."""
    group_names = group_names or {}

    def named(ids: Iterable[str]) -> list[dict]:
        return [{"group_id": g, "name": group_names.get(g)} for g in sorted(ids)]

    coaches = []
    matched_names = set()
    for entry in rules.coaches:
        row: dict = {"entry": entry}
        if entry in rules.coach_groups:
            ids = rules.coach_groups[entry]
            row.update(how="[access.coach_groups]", groups=named(ids),
                       unknown_groups=sorted(g for g in ids if group_coaches
                                             and g not in group_coaches))
        elif entry in rules.coach_names:
            coach = rules.coach_names[entry]
            matched_names.add(" ".join(coach.split()).casefold())
            row.update(how=f"coach name {coach!r}", groups=named(
                coach_groups(rules, entry, None, group_coaches)) if group_coaches else None)
        elif entry.startswith("@"):
            row.update(how="the name each person signs in with", groups=None)
        else:
            row.update(how="the name they sign in with", groups=None)
        coaches.append(row)
    unmatched = sorted({c for c in group_coaches.values()
                        if c and " ".join(c.split()).casefold() not in matched_names})
    return {
        "groups_published": bool(group_coaches),
        "leads": list(rules.leads),
        "council": list(rules.council),
        "coaches": coaches,
        "coach_names_without_mapping": unmatched,
        "role_claim": rules.role_claim,
        "groups_claim": rules.groups_claim,
        "whom_to_ask": whom_to_ask(rules),
    }


def format_access(summary: dict, source: str | None) -> str:
    """`hearth access` as text."""
    lines = [f"Roles from {source or 'hearth.toml'} [access]:"]
    if not (summary["leads"] or summary["council"] or summary["coaches"]
            or summary["role_claim"]):
        lines.append("  nobody has a role yet: add leads, council and coaches to [access] "
                     "(docs/deploy.md)")
    for role, key in (("lead", "leads"), ("council", "council")):
        for entry in summary[key]:
            lines.append(f"  {role:<8} {entry}")
    for coach in summary["coaches"]:
        lines.append(f"  {'coach':<8} {coach['entry']}")
        if coach["groups"] is None:
            lines.append("           groups: those whose coach is "
                         + coach["how"].removeprefix("coach name "))
        elif not coach["groups"]:
            lines.append(f"           groups: none found by {coach['how']}")
        else:
            shown = ", ".join(f"{g['group_id']} {g['name']}" if g["name"] else g["group_id"]
                              for g in coach["groups"])
            lines.append(f"           groups by {coach['how']}: {shown}")
        if coach.get("unknown_groups"):
            lines.append(f"           not in the warehouse: {', '.join(coach['unknown_groups'])}")
    if not summary["groups_published"]:
        lines.append("No groups are published yet, so coaches' groups are not known; they "
                     "follow the groups' coach field once data is loaded.")
    if summary["coach_names_without_mapping"]:
        lines.append("Coaches named on groups without an [access.coach_names] entry (matched by "
                     "signed-in name): " + ", ".join(summary["coach_names_without_mapping"]))
    if summary["role_claim"]:
        lines.append(f"Roles also come from the sign-in claim {summary['role_claim']!r}.")
    if summary["groups_claim"]:
        lines.append(f"Coaches' groups may come from the claim {summary['groups_claim']!r}.")
    lines.append(f"Someone without a role is told to ask {summary['whom_to_ask']}.")
    return "\n".join(lines)
