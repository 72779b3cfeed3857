"""Who is looking: the signed-in person, their role, and the groups they may see members of.

Roles (BRIEF §2): the **lead** is the program's data steward (everything, including uploads and
sign-off); the **council** sees aggregates only; a **coach** sees member-level views of the groups
they coach and aggregates of the rest. Someone signed in without a role sees nothing but whom to ask.

Role resolution from hearth.toml's [access] section is built on top of this (see docs/deploy.md).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("lead", "council", "coach")
LOCAL_ACTOR = "local"  # who did it, in local mode (no sign-in)


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
