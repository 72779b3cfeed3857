"""`hearth synth`: a seeded, deterministic synthetic community in the canonical formats.

The community follows the program Hearth measures: a pilot cohort of two groups starts on the
first day of the timeline, the scale-up groups start at staggered dates one and two quarters
later; groups of 8-12 meet weekly (a few fortnightly) with a rotating host; members have habits
(regulars, drifters whose attendance decays until they stop and later leave, newcomers who never
come back); buddies check in between sessions, some pairs lapse; an anonymous survey runs near
the end of every quarter and 50-80% of each group's active members answer it.

Four stories are planted so the dashboard has something true to find (see `story_groups` and
data/sample/README.md): a group whose attendance declines with former regulars withdrawing, a
group where one member hosts almost every session, a group with low psychological safety and a
group that thrives. A small group (3-4 survey responses a quarter) shows suppression, and one
group's newcomers rarely return.

Everything is drawn from one `numpy.random.Generator` seeded with `seed`, in a fixed order, with
no clock and no unordered iteration: the same arguments give byte-identical files. Attendance is
simulated one session index at a time across all groups at once, so 100,000 members in 10,000
groups take seconds, not hours.
"""

from __future__ import annotations

import csv
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from hearth.errors import HearthError
from hearth.instrument import Instrument, load_instrument

# The last quarter of every synthetic timeline; `quarters` counts back from it.
END_YEAR, END_QUARTER = 2026, 3

STORIES = (
    "thriving",
    "declining_attendance",
    "single_host",
    "low_safety",
    "small_group",
    "newcomers_not_returning",
)

FILES = (
    "groups.csv",
    "members.csv",
    "sessions.csv",
    "attendance.csv",
    "buddy_checkins.csv",
    "survey_responses.csv",
)

HEADERS = {
    "groups.csv": ["group_id", "name", "modality", "language", "time_zone", "cadence_days",
                   "coach", "started_on", "cohort"],
    "members.csv": ["member_id", "name", "email", "group_id", "joined_on", "left_on", "role",
                    "tier"],
    "sessions.csv": ["session_id", "group_id", "starts_at", "duration_minutes", "host_member_id",
                     "modality", "captioned"],
    "attendance.csv": ["session_id", "member_id", "status", "minutes"],
    "buddy_checkins.csv": ["member_id", "buddy_id", "checked_in_at", "channel"],
}

# Membership kinds: how a member's attendance evolves.
REGULAR, DRIFTER, NONRETURNER, WITHDRAWING, LEAVER = range(5)
NEVER = 10**6  # "no such session index / day"

TIERS = ("light", "standard", "intensive")
TIER_ATTENDANCE = np.array([0.66, 0.79, 0.87])  # light members come less often, by design
MODALITIES = ("video", "audio", "text", "in_person", "hybrid")
CHANNELS = ("call", "message", "video", "in_person")
LANGUAGES = ("en", "es", "fr")
TIME_ZONES = {
    "en": (("America/New_York", 0.26), ("America/Chicago", 0.08), ("America/Los_Angeles", 0.10),
           ("Europe/London", 0.24), ("Asia/Kolkata", 0.12), ("Australia/Sydney", 0.12),
           ("Africa/Lagos", 0.08)),
    "es": (("America/Mexico_City", 0.4), ("Europe/Madrid", 0.35), ("America/Bogota", 0.25)),
    "fr": (("Europe/Paris", 0.6), ("America/Toronto", 0.4)),
}
# Fixed settings of the story groups, so data/sample/README.md can describe them.
STORY_SETTINGS = {
    "thriving": dict(modality="video", language="en", time_zone="Europe/London", size=9),
    "declining_attendance": dict(modality="video", language="en",
                                 time_zone="America/New_York", size=10),
    "single_host": dict(modality="audio", language="en", time_zone="Asia/Kolkata", size=9),
    "low_safety": dict(modality="hybrid", language="en", time_zone="Australia/Sydney", size=11),
    "small_group": dict(modality="text", language="fr", time_zone="Europe/Paris", size=8),
    "newcomers_not_returning": dict(modality="in_person", language="es",
                                    time_zone="America/Mexico_City", size=9),
}

FIRST_NAMES = {
    "en": ("Ada", "Priya", "Tom", "Grace", "Samuel", "Aisha", "Liam", "Mei", "Noah", "Fatima",
           "Ethan", "Chloe", "Arjun", "Hannah", "Kwame", "Olivia", "Ravi", "Sophie", "Daniel",
           "Amara", "Lucas", "Zoe", "Rahul", "Isla", "Chinedu", "Emily", "Jack", "Ananya",
           "Ben", "Ruth", "Marcus", "Leah", "Kofi", "Nina", "Oscar", "Tara", "Vikram", "Maya",
           "Owen", "Sana", "Harriet", "Jun", "Declan", "Imani", "Felix", "Alice", "Deepa",
           "Isaac", "Rosa", "Callum"),
    "es": ("Lucía", "Mateo", "Sofía", "Diego", "Valentina", "Javier", "Camila", "Andrés",
           "Isabel", "Carlos", "Elena", "Pablo", "Daniela", "Miguel", "Paula", "Alejandro",
           "Gabriela", "Luis", "Carmen", "Tomás", "Ana", "Raúl", "Marta", "Hugo", "Julia"),
    "fr": ("Camille", "Louis", "Chloé", "Hugo", "Léa", "Jules", "Manon", "Gabriel", "Inès",
           "Arthur", "Zoé", "Théo", "Margaux", "Nathan", "Élodie", "Antoine", "Clara", "Mathis",
           "Juliette", "Étienne", "Amélie", "Rémi", "Sarah", "Lucas", "Anaïs"),
}
LAST_NAMES = {
    "en": ("Okafor", "Shah", "Turner", "Nguyen", "Patel", "Murphy", "Mensah", "Chen", "Walsh",
           "Khan", "Brooks", "Adeyemi", "Iyer", "Campbell", "Kowalski", "Hughes", "Reddy",
           "Fraser", "Obi", "Bennett", "Singh", "Doyle", "Tanaka", "Price", "Asante", "Wright",
           "Menon", "Lloyd", "Ward", "Kaur", "Parker", "Boateng", "Fitzgerald", "Rao", "Hart",
           "Owusu", "Ellis", "Nair", "Gallagher", "Lim", "Morgan", "Eze", "Harper", "Das",
           "Quinn", "Sato", "Foster", "Banerjee", "Reid", "Coleman"),
    "es": ("García", "Martínez", "López", "Hernández", "González", "Rodríguez", "Pérez",
           "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Morales",
           "Ortiz", "Castillo", "Romero", "Vargas", "Navarro", "Ruiz", "Mendoza", "Aguilar",
           "Herrera", "Medina"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garnier", "Fournier",
           "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller",
           "Gauthier"),
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GROUP_NOUNS = ("Circle", "Table", "Commons", "Porch", "Roundtable", "Lantern Group", "Corner",
               "Kitchen Table", "Gathering", "Fireside")

COMMENTS = {
    "en": {
        "good": ("Glad I came.", "This group is the best part of my week.",
                 "I finally feel like people know me here.",
                 "Thanks to my buddy for checking in, it helped a lot.",
                 "Hosting for the first time was less scary than I thought.",
                 "The check-in round at the start really works.",
                 "I look forward to Tuesdays now, honestly."),
        "mixed": ("Good sessions, but the time slot is hard for me.",
                  "Would like more time for the open prompts.",
                  "- more time for the check-in round, please",
                  "Some weeks the conversation stays on the surface.",
                  "Captions were missing a couple of times.",
                  "It's fine. Some weeks are better than others."),
        "bad": ("I'm not sure people would notice if I stopped coming.",
                "Hard to get a word in some weeks."),
        "emptying": ("Attendance has dropped and it feels a bit empty now.",
                     "Several regulars have stopped coming; not sure why."),
        "one_host": ("Same person runs every session; others could try it too.",
                     "It would be nice if the hosting rotated like it used to."),
        "unsafe": ("I don't feel I can disagree without being talked over.",
                   "A couple of comments last month made me hold back since.",
                   "Feels like mistakes get remembered here.",
                   "Not comfortable raising problems in this group any more."),
    },
    "es": {
        "good": ("Me alegra haber venido.", "El grupo me ayudó mucho este trimestre.",
                 "Gracias a mi compañera por llamarme entre sesiones."),
        "mixed": ("El horario a veces me cuesta.", "Me gustaría más tiempo para conversar."),
        "bad": ("A veces me siento un poco fuera del grupo.",),
        "newcomers": ("Los nuevos casi nunca vuelven, es una pena.",
                      "Vienen personas nuevas una vez y no las volvemos a ver."),
        "unsafe": ("No me siento cómodo diciendo lo que pienso.",),
    },
    "fr": {
        "good": ("Content d'être venu.", "Le groupe est petit mais chaleureux.",
                 "Merci à mon binôme pour les messages."),
        "mixed": ("Le créneau est difficile pour moi.",
                  "On est peu nombreux depuis quelques semaines."),
        "bad": ("Le groupe se vide un peu.",),
        "unsafe": ("Je n'ose pas toujours donner mon avis.",),
    },
}

STORY_COMMENTS = {"declining_attendance": "emptying", "single_host": "one_host",
                  "newcomers_not_returning": "newcomers", "low_safety": "unsafe"}
# How many of the last quarters each story is visible in (comments follow the story).
STORY_QUARTERS = {"declining_attendance": 1, "single_host": 3, "newcomers_not_returning": 2,
                  "low_safety": 2}


@dataclass(frozen=True)
class Scenario:
    """What a synthetic program holds, for the flag calibration harness (benchmarks/flags.py).

    stories : plant the six stories; False gives a *null* program, where every group is
        ordinary and any flag raised is a chance flag.
    strength : how strongly each struggling story shows, 1.0 being the bundled sample's level
        (declining attendance falls to 30% of its level over 12 sessions, with 3 regulars
        withdrawing; one host takes 11 of every 12 sessions; psychological safety sits 39
        points below the program; every newcomer after the first never returns; 2 members
        leave the small group). At strength s the fall is 70s%, round(3s) regulars withdraw,
        the host takes round(12s) of every 12, safety sits 39s points low, each later newcomer
        fails to return with probability s, and round(2s) (at least 1) members leave.
    varied : the harder world the calibration needs: groups' attendance levels spread wider
        (sd 5 points instead of a 6-point band), each group drifts a little from quarter to
        quarter, attendance dips in the summer holidays and around the new year, and survey
        levels differ more between groups. The bundled sample is generated without it.
    """

    stories: bool = True
    strength: float = 1.0
    varied: bool = False


SAMPLE = Scenario()


class SynthError(HearthError, ValueError):
    """Arguments that cannot describe a community; the message says which and why."""


# --- planning -----------------------------------------------------------------------------------

@dataclass
class _Group:
    index: int
    group_id: str
    cohort: str
    story: str | None
    modality: str
    language: str
    time_zone: str
    cadence: int
    start_day: int
    minute_of_day: int          # local start time
    duration: int
    captions: bool
    offset: float               # the group's own attendance level, around the tier rates
    coach: str = ""
    name: str = ""
    session_days: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class _Membership:
    person: int        # index into the people list (member ids are assigned at the end)
    group: int
    join_day: int
    left_day: int      # NEVER while a member
    role: str
    tier: int
    kind: int
    base_p: float
    host_ok: bool
    joiner: bool       # joined after the group's first session
    drift_k0: int = NEVER
    drift_len: int = 1
    stop_k: int = NEVER
    visits: int = 0    # sessions a non-returning newcomer comes to


def story_groups(groups: int) -> dict[str, str]:
    """Which group id carries each planted story; depends only on the number of groups.

    With six or more groups the stories are spread evenly (20 groups: g01, g04, g08, g11, g14,
    g18); with fewer, the first stories in STORIES take the first groups.
    """
    if groups >= len(STORIES):
        positions = [int(k * groups / len(STORIES) + 0.5) for k in range(len(STORIES))]
    else:
        positions = list(range(groups))
    return {story: _group_id(pos, groups) for story, pos in zip(STORIES, positions, strict=False)}


def _group_id(index: int, groups: int) -> str:
    return f"g{index + 1:0{max(2, len(str(groups)))}d}"


def _timeline(quarters: int) -> tuple[date, list[tuple[str, int, int]]]:
    """The first day, and (label, first day, last day) per quarter as day numbers from it."""
    end_index = END_YEAR * 4 + END_QUARTER - 1
    labels = []
    for index in range(end_index - quarters + 1, end_index + 1):
        year, q = divmod(index, 4)
        first = date(year, 3 * q + 1, 1)
        after = date(year + (q == 3), (3 * q + 3) % 12 + 1, 1)
        labels.append((f"{year}Q{q + 1}", first, after - timedelta(days=1)))
    start = labels[0][1]
    return start, [(label, (a - start).days, (b - start).days) for label, a, b in labels]


def _choice(rng: np.random.Generator, options, weights=None):
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        weights = weights / weights.sum()
    return options[int(rng.choice(len(options), p=weights))]


def _plan_groups(rng, groups: int, start: date, quarter_days, stories: dict[str, str],
                 scenario: Scenario = SAMPLE):
    end_day = quarter_days[-1][2]
    story_of = {gid: story for story, gid in stories.items()}
    n_q = len(quarter_days)
    # Scale-up groups start during the second and third quarters of the timeline.
    lo = quarter_days[min(1, n_q - 1)][1] if n_q > 1 else 14
    hi = quarter_days[3][1] - 21 if n_q > 3 else max(lo + 1, end_day - 56)
    if hi <= lo:
        lo, hi = min(14, end_day), max(min(14, end_day) + 1, end_day - 28)
    n_coaches = max(2, math.ceil(groups / 5))
    coaches = [_person_name(rng, "en") for _ in range(n_coaches)]
    planned: list[_Group] = []
    for g in range(groups):
        gid = _group_id(g, groups)
        story = story_of.get(gid)
        cohort = "pilot" if g < 2 else "scale_up"
        language = _choice(rng, LANGUAGES, (0.78, 0.14, 0.08))
        zones = TIME_ZONES[language]
        time_zone = _choice(rng, [z for z, _ in zones], [w for _, w in zones])
        modality = _choice(rng, MODALITIES, (0.45, 0.1, 0.1, 0.2, 0.15))
        cadence = 14 if rng.random() < 0.12 else 7
        start_day = 0 if cohort == "pilot" else int(rng.integers(lo, hi))
        slot = rng.random()
        if slot < 0.6:
            minute = int(_choice(rng, (18 * 60, 18 * 60 + 30, 19 * 60, 19 * 60 + 30)))
        elif slot < 0.8:
            minute = int(_choice(rng, (12 * 60, 12 * 60 + 30)))
        else:
            minute = int(_choice(rng, (9 * 60 + 30, 10 * 60)))
        duration = int(_choice(rng, (60, 75, 90), (0.5, 0.2, 0.3)))
        captions_rate = {"video": 0.85, "hybrid": 0.7, "audio": 0.4, "text": 0.0,
                         "in_person": 0.15}[modality]
        captions = bool(rng.random() < captions_rate)
        offset = float(rng.uniform(-0.04, 0.02))
        if scenario.varied:
            offset = float(np.clip(rng.normal(-0.01, 0.05), -0.15, 0.08))
        if story:
            settings = STORY_SETTINGS[story]
            modality, language, time_zone = (settings["modality"], settings["language"],
                                             settings["time_zone"])
            cadence = 14 if story == "small_group" else 7
            captions = modality in ("video", "hybrid")
            offset = {"thriving": 0.08}.get(story, 0.0)
        planned.append(_Group(g, gid, cohort, story, modality, language, time_zone, cadence,
                              start_day, minute, duration, captions, offset,
                              coach=coaches[g * n_coaches // groups]))
    # Make sure the community speaks more than one language when it has room to.
    plain = [grp for grp in planned if grp.story is None]
    for language in ("es", "fr"):
        if len(plain) >= 8 and not any(grp.language == language for grp in planned):
            target = plain[-1 if language == "es" else -3]
            target.language = language
            target.time_zone = TIME_ZONES[language][0][0]
    used: set[str] = set()
    for grp in planned:
        grp.session_days = _session_days(rng, grp, start, end_day)
        grp.name = _group_name(rng, grp, start, used)
    return planned


def _session_days(rng, grp: _Group, start: date, end_day: int) -> np.ndarray:
    days = np.arange(grp.start_day, end_day + 1, grp.cadence)
    keep = np.ones(len(days), dtype=bool)
    for i, day in enumerate(days):
        if i == 0:
            continue  # started_on is the date of the first session
        when = start + timedelta(days=int(day))
        holiday = (when.month == 12 and when.day >= 24) or (when.month == 1 and when.day <= 1)
        if (holiday and rng.random() < 0.75) or rng.random() < 0.015:
            keep[i] = False
    return days[keep]


def _group_name(rng, grp: _Group, start: date, used: set[str]) -> str:
    weekday = WEEKDAYS[(start + timedelta(days=grp.start_day)).weekday()]
    hour = grp.minute_of_day // 60
    part = "Morning" if hour < 12 else "Lunchtime" if hour < 14 else "Evening"
    nouns = list(GROUP_NOUNS)
    first = int(rng.integers(len(nouns)))
    for i in range(len(nouns)):
        name = f"{weekday} {part} {nouns[(first + i) % len(nouns)]}"
        if name not in used:
            used.add(name)
            return name
    n = 2
    while f"{weekday} {part} {nouns[first]} {n}" in used:
        n += 1
    name = f"{weekday} {part} {nouns[first]} {n}"
    used.add(name)
    return name


def _person_name(rng, language: str) -> str:
    first = FIRST_NAMES[language][int(rng.integers(len(FIRST_NAMES[language])))]
    last = LAST_NAMES[language][int(rng.integers(len(LAST_NAMES[language])))]
    return f"{first} {last}"


def _initial_sizes(rng, planned: list[_Group], members: int) -> list[int]:
    ratio = members / len(planned)
    typical = min(max(ratio - 1.6, 8.4), 11.0)
    sizes = []
    for grp in planned:
        if grp.story:
            sizes.append(STORY_SETTINGS[grp.story]["size"])
        else:
            sizes.append(int(np.clip(round(rng.normal(typical, 0.8)), 8, 12)))
    # Never plan more founding members than there are people.
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    i = 0
    while sum(sizes) > members and any(s > 8 for s in sizes):
        j = order[i % len(order)]
        if sizes[j] > 8:
            sizes[j] -= 1
        i += 1
    return sizes


class _Planner:
    """Plans every membership: founders, drifters and their replacements, newcomers, stories."""

    def __init__(self, rng, planned: list[_Group], quarter_days, members: int,
                 scenario: Scenario = SAMPLE):
        self.rng = rng
        self.strength = scenario.strength
        self.groups = planned
        self.quarter_days = quarter_days
        self.end_day = quarter_days[-1][2]
        self.members = members
        self.memberships: list[_Membership] = []
        self.by_group: dict[int, list[_Membership]] = {g.index: [] for g in planned}
        self.people: list[tuple[str, int]] = []  # (language, first join day)

    def _new_person(self, language: str, join_day: int) -> int:
        self.people.append((language, join_day))
        return len(self.people) - 1

    def _member(self, grp: _Group, join_day: int, role: str, kind: int, joiner: bool,
                tier: int | None = None, person: int | None = None) -> _Membership:
        rng = self.rng
        if tier is None:
            weights = (0.05, 0.6, 0.35) if grp.story == "thriving" else (0.2, 0.6, 0.2)
            tier = int(rng.choice(3, p=weights))
            if role == "facilitator":
                tier = max(tier, 1)  # facilitators take part at least at the standard tier
        base = TIER_ATTENDANCE[tier] + grp.offset + rng.normal(0, 0.025)
        if role == "facilitator":
            base = max(base, 0.9)
        host_ok = role != "member" or grp.story == "thriving" or bool(
            rng.random() < (0.35 if tier == 0 else 0.75))
        if person is None:
            person = self._new_person(grp.language, join_day)
        m = _Membership(person, grp.index, join_day, NEVER, role, tier, kind,
                        float(np.clip(base, 0.55, 0.97)), host_ok, joiner)
        self.memberships.append(m)
        self.by_group[grp.index].append(m)
        return m

    def _left_after(self, grp: _Group, k: int) -> int:
        """A leaving day strictly between session k and the next one (NEVER past the end)."""
        days = grp.session_days
        if k >= len(days):
            return NEVER
        day = int(days[k]) + int(self.rng.integers(1, grp.cadence))
        return day if day <= self.end_day else NEVER

    def _join_before(self, grp: _Group, k: int) -> int:
        """A joining day on or before session k and after session k-1."""
        days = grp.session_days
        gap = int(days[k] - days[k - 1]) if k > 0 else grp.cadence
        return int(days[k]) - int(self.rng.integers(0, gap))

    def _roster_size(self, grp: _Group, k: int) -> int:
        day = grp.session_days[k]
        return sum(1 for m in self._of(grp) if m.join_day <= day < m.left_day)

    def _of(self, grp: _Group) -> list[_Membership]:
        return self.by_group[grp.index]

    def _quarter_start_k(self, grp: _Group, quarters_back: int) -> int:
        """Index of the group's first session in the quarter `quarters_back` before the last."""
        first_day = self.quarter_days[max(0, len(self.quarter_days) - 1 - quarters_back)][1]
        return int(np.searchsorted(grp.session_days, first_day))

    def plan(self, sizes: list[int]) -> list[_Membership]:
        rng = self.rng
        founders: dict[int, list[_Membership]] = {}
        for grp, size in zip(self.groups, sizes, strict=True):
            lead = 14 if grp.cohort == "pilot" else 21
            roles = ["facilitator"] + ["member"] * (size - 1)
            if grp.cohort == "scale_up" and size > 8 and rng.random() < 0.35:
                roles[1] = "mentor"
            founders[grp.index] = [
                self._member(grp, grp.start_day - int(rng.integers(0, lead)), role, REGULAR,
                             joiner=False)
                for role in roles
            ]
        for grp in self.groups:
            # Every group has a handful of members willing to host, so the role can rotate.
            willing = [m for m in founders[grp.index] if m.host_ok]
            for m in sorted(founders[grp.index], key=lambda m: -m.tier):
                if len(willing) >= 5:
                    break
                if not m.host_ok:
                    m.host_ok = True
                    willing.append(m)
        self._cross_group_mentors(founders, sizes)
        budget = self.members - len(self.people)
        quotas = self._quotas(budget)
        leftover = 0
        for grp in self.groups:
            leftover += self._plan_group(grp, founders[grp.index], quotas[grp.index])
        self._place_leftover(leftover)
        return self.memberships

    def _cross_group_mentors(self, founders, sizes) -> None:
        """A few pilot members go on to mentor a scale-up group: one person, two memberships."""
        rng = self.rng
        pilots = [m for grp in self.groups if grp.cohort == "pilot"
                  for m in founders[grp.index] if m.role == "member" and m.tier > 0]
        targets = [grp for grp in self.groups
                   if grp.cohort == "scale_up" and grp.story is None and sizes[grp.index] < 12]
        count = min(len(pilots) // 3, max(1, len(targets) // 8), len(targets))
        if count <= 0:
            return
        chosen_people = rng.choice(len(pilots), size=count, replace=False)
        chosen_groups = rng.choice(len(targets), size=count, replace=False)
        for pi, gi in zip(chosen_people, chosen_groups, strict=True):
            grp = targets[int(gi)]
            m = self._member(grp, grp.start_day - int(rng.integers(0, 14)), "mentor", REGULAR,
                             joiner=False, tier=0, person=pilots[int(pi)].person)
            m.base_p = 0.78
            sizes[grp.index] += 1
            founders[grp.index].append(m)

    def _quotas(self, budget: int) -> list[int]:
        """How many new people each group may take in (the budget keeps --members exact)."""
        wanted = {"thriving": 3, "newcomers_not_returning": 5, "declining_attendance": 1,
                  "single_host": 1, "low_safety": 1, "small_group": 0}
        quotas = [0] * len(self.groups)
        for grp in self.groups:
            if grp.story:
                quotas[grp.index] = min(wanted[grp.story], budget)
                budget -= quotas[grp.index]
        plain = [grp.index for grp in self.groups if grp.story is None]
        if plain and budget > 0:
            share, extra = divmod(budget, len(plain))
            lucky = set(self.rng.choice(len(plain), size=extra, replace=False).tolist())
            for pos, g in enumerate(plain):
                quotas[g] = share + (pos in lucky)
        elif budget > 0:
            quotas[0] += budget
        return quotas

    def _plan_group(self, grp: _Group, founders: list[_Membership], quota: int) -> int:
        """Plan one group's habits and turnover; returns the part of its quota left unused."""
        rng = self.rng
        K = len(grp.session_days)
        weekly = grp.cadence == 7
        story = grp.story
        if story == "declining_attendance" and K >= 14:
            # Three regulars stop coming one after another and stay on the roster.
            withdrawing = round(3 * self.strength)
            regulars = [m for m in founders if m.role == "member" and m.tier > 0][:withdrawing]
            for m, back in zip(regulars, (10, 8, 6), strict=False):
                m.kind, m.stop_k, m.base_p = WITHDRAWING, K - back, max(m.base_p, 0.9)
        if story == "single_host":
            founders[0].base_p = 0.97
        if story == "small_group":
            # Two members move away at the start of the second-last quarter; nobody replaces them.
            k = self._quarter_start_k(grp, 2)
            leaving = max(1, round(2 * self.strength))
            for m, extra in zip(founders[-leaving:], (0, 1)[:leaving], strict=True):
                if 1 <= k + extra < K - 1:
                    m.kind, m.stop_k = LEAVER, k + extra
                    m.left_day = self._left_after(grp, k + extra - 1)
        if story is None and K >= 16:
            drifters = int(rng.choice(3, p=(0.45, 0.45, 0.10)))
            drifters = min(drifters, quota)
            candidates = [m for m in founders if m.role == "member"]
            rng.shuffle(candidates)
            next_free = 4
            for m in candidates[:drifters]:
                length = int(rng.integers(4, 8)) if weekly else int(rng.integers(2, 4))
                if next_free > K - length - 6:
                    break
                m.kind = DRIFTER
                m.drift_k0 = int(rng.integers(next_free, max(next_free + 1, K - length - 5)))
                m.drift_len = length
                m.stop_k = m.drift_k0 + length
                m.left_day = self._left_after(grp, m.stop_k + int(rng.integers(2, 7)))
                next_free = m.stop_k + (10 if weekly else 5)
                # The coach recruits a replacement once the drifter has stopped coming.
                k_join = m.stop_k + (int(rng.integers(1, 5)) if weekly else int(rng.integers(1, 3)))
                if k_join < K - 1 and quota > 0:
                    self._member(grp, self._join_before(grp, k_join), "member", REGULAR,
                                 joiner=True)
                    quota -= 1
        return self._growth(grp, quota)

    def _growth(self, grp: _Group, quota: int) -> int:
        """Newcomers beyond replacements: some stay, some come once and never again."""
        rng = self.rng
        K = len(grp.session_days)
        story = grp.story
        if K < 6:
            return quota
        if story == "declining_attendance":
            window = (2, max(3, self._quarter_start_k(grp, 2)))  # nobody new while it declines
        else:
            window = (2, K - 3)
        if window[1] <= window[0]:
            return quota
        nonreturn = {"thriving": 0.0, "newcomers_not_returning": 0.85}.get(story, 0.12)
        slots: list[int] = []
        if story == "thriving":
            # Three newcomers arrive together in the second-last quarter; all of them stay.
            lo, hi = self._quarter_start_k(grp, 1), self._quarter_start_k(grp, 0) - 3
            lo, hi = (lo, hi) if hi > lo else window
            slots = [int(rng.integers(lo, hi)) for _ in range(quota)]
        elif story == "newcomers_not_returning":
            late = self._quarter_start_k(grp, 1)
            for i in range(quota):
                lo = late if i >= 2 and late < K - 3 else window[0]
                slots.append(int(rng.integers(lo, K - 3)))
        else:
            slots = [int(rng.integers(*window)) for _ in range(quota)]
        for k in sorted(slots):
            if self._roster_size(grp, k) >= 12 and story != "newcomers_not_returning":
                k = next((j for j in range(window[0], window[1])
                          if self._roster_size(grp, j) < 12), -1)
                if k < 0:
                    continue
            first_timer_stays = rng.random() >= nonreturn
            if story == "newcomers_not_returning":
                first_timer_stays = k == min(slots)  # the first stays; the rest never return
                if self.strength < 1 and not first_timer_stays:
                    first_timer_stays = bool(rng.random() >= self.strength)
            if first_timer_stays:
                m = self._member(grp, self._join_before(grp, k), "member", REGULAR, joiner=True)
                if story == "thriving":
                    m.host_ok = True
            else:
                m = self._member(grp, self._join_before(grp, k), "member", NONRETURNER,
                                 joiner=True, tier=int(rng.choice(3, p=(0.5, 0.4, 0.1))))
                m.visits = 1 if rng.random() < 0.85 or story else 2
                m.host_ok = False
                m.left_day = self._left_after(grp, k + int(rng.integers(3, 7)))
            quota -= 1
        return quota

    def _place_leftover(self, leftover: int) -> None:
        """People the groups could not take in join plain groups late, as newcomers."""
        rng = self.rng
        plain = [grp for grp in self.groups if grp.story is None and len(grp.session_days) >= 6]
        if not plain:
            plain = [grp for grp in self.groups if len(grp.session_days) >= 2] or self.groups
        i = 0
        while leftover > 0:
            grp = plain[i % len(plain)]
            K = len(grp.session_days)
            k = int(rng.integers(1, K)) if K > 1 else 0
            if self._roster_size(grp, k) < 12:
                self._member(grp, self._join_before(grp, k), "member", REGULAR, joiner=k > 0)
            else:
                m = self._member(grp, self._join_before(grp, k), "member", NONRETURNER,
                                 joiner=True)
                m.visits, m.host_ok = 1, False
                m.left_day = self._left_after(grp, k + 3)
            leftover -= 1
            i += 1


# --- simulation ---------------------------------------------------------------------------------

@dataclass
class _Simulated:
    session_group: np.ndarray     # per session (flat, group-major)
    session_k: np.ndarray
    session_day: np.ndarray
    session_host: np.ndarray      # membership index, -1 when nobody hosted
    att_session: np.ndarray       # per attendance row: flat session index
    att_membership: np.ndarray
    att_excused: np.ndarray
    att_minutes: np.ndarray
    active: np.ndarray            # memberships x quarters: sessions attended
    last_attended: np.ndarray     # per membership: day of the last session attended, -1 if none


def _simulate(rng, planned: list[_Group], ms: list[_Membership], quarter_days,
              stories: dict[str, str], scenario: Scenario = SAMPLE,
              start: date | None = None) -> _Simulated:
    G = len(planned)
    K = np.array([len(g.session_days) for g in planned])
    Kmax = int(K.max()) if G else 0
    sess_day = np.full((G, max(Kmax, 1)), NEVER, dtype=np.int64)
    for g in planned:
        sess_day[g.index, : len(g.session_days)] = g.session_days
    q_first = np.array([q[1] for q in quarter_days])
    sess_q = np.clip(np.searchsorted(q_first, sess_day, side="right") - 1, 0, len(q_first) - 1)
    # Flat session numbering, group-major.
    flat_base = np.concatenate([[0], np.cumsum(K)[:-1]]) if G else np.zeros(0, dtype=np.int64)

    # The group-level mood of each session: small shocks, and the planted decline.
    mult = np.ones_like(sess_day, dtype=float)
    shock = rng.normal(0, 0.03, size=sess_day.shape)
    by_id = {g.group_id: g for g in planned}
    declining = by_id.get(stories.get("declining_attendance", ""))
    if declining is not None and len(declining.session_days) >= 14:
        n = len(declining.session_days)
        ramp = np.linspace(1.0, 0.3 + 0.7 * (1.0 - scenario.strength), 12)
        mult[declining.index, n - 12: n] = ramp
        shock[declining.index, n - 12: n] *= 0.3
    if scenario.varied and start is not None:
        shock += _season_and_drift(rng, sess_day, sess_q, start)
    thriving = by_id.get(stories.get("thriving", ""))
    thriving_index = -1
    if thriving is not None:
        shock[thriving.index] *= 0.5
        thriving_index = thriving.index
    single = by_id.get(stories.get("single_host", ""))
    single_from = NEVER
    if single is not None:
        first_day = quarter_days[max(0, len(quarter_days) - 3)][1]
        single_from = int(np.searchsorted(single.session_days, first_day))

    N = len(ms)
    grp = np.array([m.group for m in ms], dtype=np.int64)
    order = np.argsort(grp, kind="stable")
    if not np.array_equal(order, np.arange(N)):
        raise AssertionError("memberships must be grouped")  # _plan keeps them in group order
    join = np.array([m.join_day for m in ms], dtype=np.int64)
    left = np.array([m.left_day for m in ms], dtype=np.int64)
    kind = np.array([m.kind for m in ms])
    base = np.array([m.base_p for m in ms])
    host_ok = np.array([m.host_ok for m in ms])
    joiner = np.array([m.joiner for m in ms])
    drift_k0 = np.array([m.drift_k0 for m in ms])
    drift_len = np.array([max(m.drift_len, 1) for m in ms])
    stop_k = np.array([m.stop_k for m in ms])
    visits = np.array([m.visits for m in ms])
    facilitator = np.array([m.role == "facilitator" for m in ms])
    designated = np.zeros(N, dtype=bool)
    if single is not None:
        designated = (grp == single.index) & facilitator
    duration = np.array([g.duration for g in planned])

    n_att = np.zeros(N, dtype=np.int64)
    n_roster = np.zeros(N, dtype=np.int64)
    consec = np.zeros(N, dtype=np.int64)
    last_host = -rng.integers(1, 8, size=N)
    active = np.zeros((N, len(quarter_days)), dtype=np.int64)
    last_attended = np.full(N, -1, dtype=np.int64)
    session_host = np.full(int(K.sum()), -1, dtype=np.int64)
    rows_s, rows_m, rows_x, rows_min = [], [], [], []

    for k in range(Kmax):
        has = K[grp] > k
        day = sess_day[grp, k]
        idx = np.nonzero(has & (join <= day) & (day < left))[0]
        if len(idx) == 0:
            continue
        g = grp[idx]
        p = base[idx].copy()
        kd = kind[idx]
        drifting = (kd == DRIFTER) & (k >= drift_k0[idx])
        frac = np.clip((k - drift_k0[idx]) / drift_len[idx], 0.0, 1.0)
        p = np.where(drifting, p * (1 - 0.8 * frac), p)
        stopped = k >= stop_k[idx]
        nonret = kd == NONRETURNER
        p = np.where(nonret, np.where(n_att[idx] < visits[idx], 0.95, 0.0), p)
        first = joiner[idx] & (n_roster[idx] == 0) & ~nonret
        p = np.where(first, 0.97, p)
        engaged = ~drifting & ~stopped & ~nonret
        m_k = mult[g, k]
        # Regulars who missed twice tend to come back: absences rarely run three long.
        steady = engaged & (m_k >= 1.0)
        p = np.where(steady & (consec[idx] == 1), np.maximum(p, 0.85), p)
        p = np.where(steady & (consec[idx] >= 2), np.maximum(p, 0.97), p)
        p = np.where(p > 0, p * m_k + shock[g, k], 0.0)
        p = np.where(stopped, 0.0, np.clip(p, 0.0, 0.99))
        # In the thriving group nobody misses three in a row.
        p = np.where(steady & (consec[idx] >= 2) & (g == thriving_index), 1.0, p)

        # The host: the eligible member who hosted longest ago, with a little chance.
        eligible = engaged & host_ok[idx] & ((n_att[idx] >= 2) | ~joiner[idx])
        score = (k - last_host[idx]) + rng.uniform(0, 3, size=len(idx))
        score = score + np.where(facilitator[idx] & (k == 0), 1000.0, 0.0)
        in_window = designated[idx] & (k >= single_from)
        takes_over = (k - single_from) % 12 != 5  # someone else covers now and then
        if scenario.strength < 1:
            takes_over = (k - single_from) % 12 < round(12 * scenario.strength)
        score = score + np.where(in_window & takes_over, 1000.0, 0.0)
        score = score + np.where(designated[idx] & (k < single_from), 2.0, 0.0)
        score = np.where(eligible, score, -np.inf)
        order_k = np.lexsort((score, g))
        last_of_group = np.r_[g[order_k][1:] != g[order_k][:-1], True]
        winners = order_k[last_of_group]
        winners = winners[np.isfinite(score[winners])]

        attended = rng.random(len(idx)) < p
        attended[winners] = True
        # While a group declines, turnout follows the decline session by session: the expected
        # number come (the host among them), drawn in proportion to each member's chance.
        fading = m_k < 1.0
        for g_fading in np.unique(g[fading]):
            rows = np.nonzero(g == g_fading)[0]
            hosts_here = np.intersect1d(rows, winners)
            others = np.setdiff1d(rows, hosts_here)
            want = int(round(p[rows].sum())) - len(hosts_here)
            attended[others] = False
            if want > 0 and p[others].sum() > 0:
                chosen = rng.choice(others, size=min(want, int((p[others] > 0).sum())),
                                    replace=False, p=p[others] / p[others].sum())
                attended[chosen] = True
        excuse_p = np.where(engaged & (kd != WITHDRAWING) & ~fading, 0.22, 0.0)
        excused = ~attended & (rng.random(len(idx)) < excuse_p)

        hosts = idx[winners]
        session_host[flat_base[grp[hosts]] + k] = hosts
        last_host[hosts] = k

        n_roster[idx] += 1
        n_att[idx] += attended
        consec[idx] = np.where(attended, 0, consec[idx] + 1)
        att_idx = idx[attended]
        active[att_idx, sess_q[grp[att_idx], k]] += 1
        last_attended[att_idx] = day[att_idx]

        listed = attended | excused
        li = idx[listed]
        dur = duration[grp[li]]
        minutes = dur - np.abs(rng.normal(0, 3, size=len(li)))
        late = rng.random(len(li))
        minutes = np.where(late < 0.12, minutes - rng.uniform(5, 25, size=len(li)), minutes)
        minutes = np.where(late > 0.96, dur + rng.uniform(1, 10, size=len(li)), minutes)
        minutes = np.clip(np.rint(minutes), 5, dur + 15).astype(np.int64)
        rows_s.append(flat_base[grp[li]] + k)
        rows_m.append(li)
        rows_x.append(excused[listed])
        rows_min.append(minutes)

    session_group = np.repeat(np.arange(G), K)
    session_k = np.concatenate([np.arange(n) for n in K]) if G else np.zeros(0, dtype=np.int64)
    def cat(parts, dtype):
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    return _Simulated(
        session_group=session_group,
        session_k=session_k,
        session_day=sess_day[session_group, session_k],
        session_host=session_host,
        att_session=cat(rows_s, np.int64),
        att_membership=cat(rows_m, np.int64),
        att_excused=cat(rows_x, bool),
        att_minutes=cat(rows_min, np.int64),
        active=active,
        last_attended=last_attended,
    )


def _season_and_drift(rng, sess_day: np.ndarray, sess_q: np.ndarray, start: date) -> np.ndarray:
    """Additive shifts to every session's attendance chance (Scenario.varied): each group's
    level drifts by a few points from quarter to quarter, turnout dips by 4 points in July and
    August and by 8 points from 15 December to 10 January."""
    drift = rng.normal(0, 0.025, size=(sess_day.shape[0], int(sess_q.max()) + 1))
    out = np.take_along_axis(drift, sess_q, axis=1)
    valid = sess_day < NEVER
    when = np.datetime64(start, "D") + np.where(valid, sess_day, 0).astype("timedelta64[D]")
    month = when.astype("datetime64[M]").astype(int) % 12 + 1
    day = (when - when.astype("datetime64[M]")).astype(int) + 1
    summer = (month == 7) | (month == 8)
    holidays = ((month == 12) & (day >= 15)) | ((month == 1) & (day <= 10))
    return out - np.where(summer, 0.04, 0.0) - np.where(holidays, 0.08, 0.0)


# --- buddy check-ins ----------------------------------------------------------------------------

def _buddy_checkins(rng, planned, ms: list[_Membership], sim: _Simulated, end_day: int):
    """Pairs formed at the group's start and when newcomers join; some pairs lapse."""
    pairs: list[tuple[int, int, int, int, float]] = []  # (a, b, from, to, weekly rate)
    by_group: dict[int, list[int]] = {}
    for i, m in enumerate(ms):
        if m.role != "mentor":
            by_group.setdefault(m.group, []).append(i)
    for grp in planned:
        members = by_group.get(grp.index, [])
        if len(members) < 2:
            continue
        founders = [i for i in members if not ms[i].joiner]
        founders = [founders[int(j)] for j in rng.permutation(len(founders))]
        couples = [(founders[j], founders[j + 1]) for j in range(0, len(founders) - 1, 2)]
        if len(founders) % 2 and len(founders) > 2:
            couples.append((founders[-1], founders[0]))
        for i in members:
            if ms[i].joiner:
                others = [j for j in members if j != i and ms[j].join_day <= ms[i].join_day
                          < ms[j].left_day]
                if others:
                    couples.append((i, others[int(rng.integers(len(others)))]))
        lapse_p = {"thriving": 0.05, "declining_attendance": 0.9}.get(grp.story, 0.3)
        for a, b in couples:
            ma, mb = ms[a], ms[b]
            start = max(ma.join_day, mb.join_day, grp.start_day)
            stop = min(ma.left_day, mb.left_day, end_day + 1)
            for m, idx in ((ma, a), (mb, b)):
                if m.stop_k < NEVER or m.kind in (DRIFTER, NONRETURNER):
                    last = int(sim.last_attended[idx])
                    stop = min(stop, last + 10 if last >= 0 else start + 7)
            if grp.story == "declining_attendance":
                lapse_day = int(rng.integers(start + 28, max(start + 29, stop)))
                stop = min(stop, lapse_day)
            elif rng.random() < lapse_p:
                stop = min(stop, start + int(rng.integers(4, 31)) * 7)
            if stop - start < 3:
                continue
            rate = float(rng.uniform(1.0, 1.6) if grp.story == "thriving"
                         else rng.uniform(0.3, 1.1))
            pairs.append((a, b, start, stop, rate))
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), \
            np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b, start, stop, rate = (np.array(col) for col in zip(*pairs, strict=True))
    counts = rng.poisson(rate * (stop - start) / 7.0)
    pa = np.repeat(np.arange(len(a)), counts)
    swap = rng.random(len(pa)) < 0.5
    who = np.where(swap, b[pa], a[pa])
    buddy = np.where(swap, a[pa], b[pa])
    span = (stop - start)[pa]
    day = start[pa] + (rng.random(len(pa)) * span).astype(np.int64)
    second = rng.integers(8 * 3600, 22 * 3600, size=len(pa))
    group = np.array([ms[int(i)].group for i in who], dtype=np.int64) if len(who) else \
        np.zeros(0, np.int64)
    in_person_group = np.array([g.modality == "in_person" for g in planned])[group] \
        if len(group) else np.zeros(0, bool)
    weights = np.where(in_person_group[:, None], [[0.25, 0.45, 0.05, 0.25]],
                       [[0.25, 0.5, 0.17, 0.08]])
    channel = (rng.random(len(pa))[:, None] > np.cumsum(weights, axis=1)).sum(axis=1)
    return who, buddy, day, second, np.minimum(channel, 3)


# --- surveys ------------------------------------------------------------------------------------

def _construct_levels(rng, planned, quarter_days, stories, scenario: Scenario = SAMPLE):
    """Each group's latent level per quarter and construct, on the 0-100 index scale."""
    G, Q = len(planned), len(quarter_days)
    q = np.arange(Q)[None, :]
    started = np.array([np.searchsorted([d[1] for d in quarter_days], g.start_day, side="right")
                        - 1 for g in planned])[:, None]
    age = np.clip(q - started, 0, None)  # quarters since the group started
    noise = lambda sd: rng.normal(0, sd, size=(G, Q))  # noqa: E731
    offset = lambda sd: rng.normal(0, sd, size=(G, 1))  # noqa: E731
    levels = {
        "belonging": np.clip(60 + 2.5 * age + offset(3) + noise(1.5), 50, 78),
        "psychological_safety": np.clip(70 + offset(2.5) + noise(1.5), 62, 80),
        "peer_support": np.clip(62 + 2.0 * age + offset(4) + noise(2), 45, 78),
        "loneliness": np.clip(36 - 3.0 * age + offset(4) + noise(2), 18, 48),
        "willingness_to_lead": np.clip(55 + offset(5) + noise(3), 40, 70),
    }
    if scenario.varied:  # groups differ more from one another, and a little quarter to quarter
        for key, sd in (("belonging", 3.0), ("psychological_safety", 3.0), ("peer_support", 2.0)):
            levels[key] = levels[key] + offset(sd) + noise(1.5)
    by_id = {g.group_id: g.index for g in planned}
    last2 = slice(max(0, Q - 2), Q)
    if (g := by_id.get(stories.get("thriving", ""))) is not None:
        levels["belonging"][g] = np.linspace(56, 90, Q)
        levels["psychological_safety"][g] = 80 + noise(1)[0]
        levels["peer_support"][g] = np.linspace(70, 84, Q)
        levels["loneliness"][g] = np.linspace(34, 16, Q)
        levels["willingness_to_lead"][g] = 70
    if (g := by_id.get(stories.get("declining_attendance", ""))) is not None:
        levels["belonging"][g, Q - 1] -= 10
        levels["peer_support"][g, Q - 1] -= 10
        levels["loneliness"][g, Q - 1] += 6
    if (g := by_id.get(stories.get("single_host", ""))) is not None:
        levels["willingness_to_lead"][g] = 34
    if (g := by_id.get(stories.get("low_safety", ""))) is not None:
        levels["psychological_safety"][g, last2] = 70 - 39 * scenario.strength
        levels["belonging"][g, last2] -= 6 * scenario.strength
    return levels


def _survey(rng, instrument: Instrument, planned, ms, sim: _Simulated, quarter_days, stories,
            scenario: Scenario = SAMPLE):
    """Anonymous responses from 50-80% of each group's active members, every quarter.

    Returns per response: group index, quarter index, whether the group is left blank, the
    answers (responses x items, as answered), which answers were skipped, the comment, and the
    local day and second of submission.
    """
    Q = len(quarter_days)
    levels = _construct_levels(rng, planned, quarter_days, stories, scenario)
    grp = np.array([m.group for m in ms], dtype=np.int64)
    traits = rng.normal(0, 1, size=max(m.person for m in ms) + 1)
    person = np.array([m.person for m in ms], dtype=np.int64)
    story_of = {g.index: g.story for g in planned}
    sessions_in = np.zeros((len(planned), Q), dtype=np.int64)
    q_first = np.array([q[1] for q in quarter_days])
    sq = np.clip(np.searchsorted(q_first, sim.session_day, side="right") - 1, 0, Q - 1)
    np.add.at(sessions_in, (sim.session_group, sq), 1)

    r_group, r_quarter, r_trait, r_blank = [], [], [], []
    bounds = np.r_[0, np.cumsum(np.bincount(grp, minlength=len(planned)))]
    for g in planned:
        lo, hi = bounds[g.index], bounds[g.index + 1]
        for q in range(Q):
            if sessions_in[g.index, q] < (3 if g.cadence == 7 else 2):
                continue  # too young to survey this quarter
            active = np.nonzero(sim.active[lo:hi, q] > 0)[0] + lo
            a = len(active)
            if a == 0:
                continue
            low, high = math.ceil(0.5 * a), max(math.ceil(0.5 * a), math.floor(0.8 * a))
            if g.story == "low_safety" and q >= Q - 2:
                n = high
            elif g.story == "small_group":
                few = max(low, 3)
                n = int(rng.integers(few, max(few, min(high, 4)) + 1))
            else:
                n = int(rng.integers(low, high + 1))
            weight = sim.active[active, q] + 1.0
            chosen = rng.choice(active, size=n, replace=False, p=weight / weight.sum())
            r_group += [g.index] * n
            r_quarter += [q] * n
            r_trait.append(traits[person[np.sort(chosen)]])
            keep_label = g.story in ("low_safety", "small_group")
            r_blank.append(np.zeros(n, bool) if keep_label else rng.random(n) < 0.05)
    rg = np.array(r_group, dtype=np.int64)
    rq = np.array(r_quarter, dtype=np.int64)
    trait = np.concatenate(r_trait) if r_trait else np.zeros(0)
    blank = np.concatenate(r_blank) if r_blank else np.zeros(0, bool)
    n = len(rg)
    # A shared sense of connection drives every construct a little, a person's own more.
    shared = 0.6 * trait + 0.8 * rng.normal(0, 1, size=n)
    answers: dict[str, np.ndarray] = {}
    spread = {"belonging": (0.75, 0.55), "psychological_safety": (1.0, 0.95),
              "peer_support": (0.75, 0.6), "loneliness": (0.55, 0.35),
              "willingness_to_lead": (1.0, 0.0)}
    for construct in instrument.constructs():
        items = instrument.items_of(construct)
        low, high = items[0].scale_min, items[0].scale_max
        level = levels.get(construct, np.full((len(planned), Q), 60.0))[rg, rq]
        sd_person, sd_item = spread.get(construct, (0.8, 0.6))
        sign = -1.0 if construct == "loneliness" else 1.0
        own = rng.normal(0, 1, size=n)
        latent = (low + level / 100.0 * (high - low)
                  + sign * sd_person * (0.6 * shared + 0.8 * own))
        for item in items:
            keyed = np.clip(np.rint(latent + rng.normal(0, sd_item, size=n)
                                    + rng.normal(0, 0.1)), low, high).astype(np.int64)
            answers[item.item_id] = (low + high - keyed) if item.reverse_keyed else keyed
    item_ids = instrument.item_ids
    matrix = np.stack([answers[i] for i in item_ids], axis=1) if n else \
        np.zeros((0, len(item_ids)), np.int64)
    skipped = rng.random(matrix.shape) < 0.02
    # A few people stop before the end of the survey.
    stops = rng.random(n) < 0.03
    cut = rng.integers(len(item_ids) // 2, len(item_ids), size=n)
    skipped |= stops[:, None] & (np.arange(len(item_ids))[None, :] >= cut[:, None])
    skipped[skipped.all(axis=1), 0] = False

    # Comments: a few, in the group's language, in the tone of the answers.
    bel_cols = [item_ids.index(i.item_id) for i in instrument.items_of("belonging")] or [0]
    tone_score = matrix[:, bel_cols].mean(axis=1) if n else np.zeros(0)
    comments = [""] * n
    # People in a group with a story to tell comment more often while it is happening.
    window = np.array([STORY_QUARTERS.get(g.story, 0) for g in planned])
    telling = rq >= Q - window[rg] if n else np.zeros(0, bool)
    wants = rng.random(n) < np.where(telling, 0.3, 0.1)
    for i in np.nonzero(wants)[0]:
        g = planned[int(rg[i])]
        language = g.language if rng.random() < 0.8 else "en"
        pool = COMMENTS[language]
        story = story_of[g.index]
        if telling[i] and rng.random() < 0.6:
            tone = STORY_COMMENTS[story]
        else:
            tone = "good" if tone_score[i] >= 4 else "mixed" if tone_score[i] >= 2.75 else "bad"
        options = pool.get(tone) or COMMENTS["en"].get(tone) or pool["mixed"]
        comments[int(i)] = options[int(rng.integers(len(options)))]

    # Submitted in the last two weeks of the quarter, local time of the respondent's group.
    q_last = np.array([q[2] for q in quarter_days])
    day = q_last[rq] - rng.integers(1, 16, size=n)
    second = rng.integers(7 * 3600, 23 * 3600, size=n)
    return rg, rq, blank, matrix, skipped, comments, day, second


# --- writing ------------------------------------------------------------------------------------

class _Clock:
    """Local wall-clock times to ISO 8601 strings with each zone's offset on that date."""

    def __init__(self, start: date, first_day: int, last_day: int, zones: list[str]):
        self.start = np.datetime64(start, "D")
        self.first = first_day
        self.offsets: dict[str, np.ndarray] = {}
        for zone in zones:
            tz = ZoneInfo(zone)
            minutes = []
            for d in range(first_day, last_day + 1):
                # Noon is never inside a daylight-saving change, and no synthetic time is
                # earlier than 07:00, so the offset at noon is the offset of the whole day.
                when = datetime.combine(start + timedelta(days=d), datetime.min.time())
                offset = when.replace(hour=12, tzinfo=tz).utcoffset()
                minutes.append(int(offset.total_seconds() // 60))
            self.offsets[zone] = np.array(minutes, dtype=np.int64)

    def dates(self, days: np.ndarray) -> np.ndarray:
        return np.datetime_as_string(self.start + days.astype("timedelta64[D]"), unit="D")

    def offset_minutes(self, zones: np.ndarray, days: np.ndarray) -> np.ndarray:
        out = np.zeros(len(days), dtype=np.int64)
        for zone, table in self.offsets.items():
            mask = zones == zone
            out[mask] = table[days[mask] - self.first]
        return out

    def stamps(self, zones: np.ndarray, days: np.ndarray, seconds: np.ndarray):
        """(ISO strings, UTC seconds for sorting)."""
        local = (self.start + days.astype("timedelta64[D]")).astype("datetime64[s]") \
            + seconds.astype("timedelta64[s]")
        text = np.datetime_as_string(local, unit="s")
        offset = self.offset_minutes(zones, days)
        distinct, which = np.unique(offset, return_inverse=True)
        suffix = np.array([f"{'-' if o < 0 else '+'}{abs(o) // 60:02d}:{abs(o) % 60:02d}"
                           for o in distinct.tolist()])[which]
        utc = local.astype(np.int64) - offset * 60
        return np.char.add(text, suffix), utc


class _Take:
    """`base[index]`, taken one slice at a time by _write, so ten million rows stay cheap."""

    def __init__(self, base: np.ndarray, index: np.ndarray):
        self.base, self.index = base, index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, part: slice) -> np.ndarray:
        return self.base[self.index[part]]


def _write(path: Path, header: list[str], columns: list, chunk: int = 200_000) -> int:
    """Write columns (equal-length arrays or lists) as CSV, a slice at a time to bound memory."""
    rows = len(columns[0]) if columns else 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for lo in range(0, rows, chunk):
            parts = [col[lo: lo + chunk] for col in columns]
            parts = [part.tolist() if isinstance(part, np.ndarray) else part for part in parts]
            writer.writerows(zip(*parts, strict=True))
    return rows


def _email(name: str, used: set[str]) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    local = ".".join(part for part in ascii_name.lower().replace("'", "").split())
    email, n = f"{local}@example.org", 2
    while email in used:
        email, n = f"{local}{n}@example.org", n + 1
    used.add(email)
    return email


def _validate(out: Path, members: int, groups: int, quarters: int) -> None:
    if groups < 1:
        raise SynthError("--groups must be at least 1")
    if not 1 <= quarters <= 40:
        raise SynthError(f"--quarters must be 1-40, not {quarters}")
    if members < 8 * groups:
        raise SynthError(f"--members {members} is too few for {groups} groups of 8-12; "
                         f"give at least {8 * groups}")
    if members > 20 * groups:
        raise SynthError(f"--members {members} is too many for {groups} groups of 8-12; "
                         f"give at most {20 * groups}, or more groups")
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out}: exists and is not a folder; choose another --out")


def synthesize(out: Path, members: int = 220, groups: int = 20, quarters: int = 6,
               seed: int = 7, scenario: Scenario = SAMPLE) -> dict[Path, int]:
    """Write a synthetic community's six canonical CSV files into `out`.

    Parameters
    ----------
    out : folder to write into (created if missing; the six files are overwritten).
    members : distinct people over the whole timeline, founders and newcomers together.
    groups : peer groups; the first two are the pilot cohort.
    quarters : calendar quarters, ending with 2026Q3.
    seed : the same seed gives byte-identical files.
    scenario : what to plant (Scenario); the default is the bundled sample's.

    Returns
    -------
    dict mapping each written file to the number of data rows in it.
    """
    out = Path(out)
    _validate(out, members, groups, quarters)
    rng = np.random.default_rng(seed)
    instrument = load_instrument()
    start, quarter_days = _timeline(quarters)
    end_day = quarter_days[-1][2]
    stories = story_groups(groups) if scenario.stories else {}
    planned = _plan_groups(rng, groups, start, quarter_days, stories, scenario)
    planner = _Planner(rng, planned, quarter_days, members, scenario)
    ms = planner.plan(_initial_sizes(rng, planned, members))
    ms.sort(key=lambda m: m.group)  # stable: keeps planning order within a group
    if len(planner.people) != members:
        raise AssertionError(f"planned {len(planner.people)} people, not {members}")
    sim = _simulate(rng, planned, ms, quarter_days, stories, scenario, start)
    buddies = _buddy_checkins(rng, planned, ms, sim, end_day)
    survey = _survey(rng, instrument, planned, ms, sim, quarter_days, stories, scenario)

    # Member ids in order of first joining, as a sign-up system would hand them out.
    people = planner.people
    first_join = {}
    for m in ms:
        first_join[m.person] = min(first_join.get(m.person, NEVER), m.join_day)
    by_signup = sorted(range(len(people)), key=lambda p: (first_join[p], p))
    width = max(4, len(str(members)))
    member_id = [""] * len(people)
    for n, p in enumerate(by_signup, start=1):
        member_id[p] = f"m{n:0{width}d}"
    names = [_person_name(rng, language) for language, _ in people]
    used: set[str] = set()
    emails = [_email(name, used) if rng.random() > 0.08 else "" for name in names]

    first_day = min(min(m.join_day for m in ms), 0)
    zones = sorted({g.time_zone for g in planned})
    clock = _Clock(start, first_day, end_day + 1, zones)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[Path, int] = {}

    gid = np.array([g.group_id for g in planned], dtype=object)
    written[out / "groups.csv"] = _write(out / "groups.csv", HEADERS["groups.csv"], [
        [g.group_id for g in planned], [g.name for g in planned],
        [g.modality for g in planned], [g.language for g in planned],
        [g.time_zone for g in planned], [str(g.cadence) for g in planned],
        [g.coach for g in planned],
        list(clock.dates(np.array([g.start_day for g in planned]))),
        [g.cohort for g in planned],
    ])

    m_order = sorted(range(len(ms)), key=lambda i: (member_id[ms[i].person], ms[i].join_day))
    joined = clock.dates(np.array([ms[i].join_day for i in m_order]))
    left_days = np.array([ms[i].left_day for i in m_order])
    left = np.where(left_days < NEVER, clock.dates(np.minimum(left_days, end_day)), "")
    written[out / "members.csv"] = _write(out / "members.csv", HEADERS["members.csv"], [
        [member_id[ms[i].person] for i in m_order], [names[ms[i].person] for i in m_order],
        [emails[ms[i].person] for i in m_order], [gid[ms[i].group] for i in m_order],
        list(joined), list(left), [ms[i].role for i in m_order],
        [TIERS[ms[i].tier] for i in m_order],
    ])

    sg = sim.session_group
    zone_of = np.array([g.time_zone for g in planned], dtype=object)
    minute = np.array([g.minute_of_day for g in planned])
    starts, _ = clock.stamps(zone_of[sg].astype(str), sim.session_day, minute[sg] * 60)
    session_id = np.char.add(np.char.add(gid[sg].astype(str), "-"), clock.dates(sim.session_day))
    ms_member = np.array([member_id[m.person] for m in ms], dtype=object)
    host = np.where(sim.session_host >= 0, ms_member[np.maximum(sim.session_host, 0)], "")
    dur = np.array([g.duration for g in planned])[sg]
    dur = np.where(rng.random(len(sg)) < 0.04, dur + 15, dur)
    modality = np.array([g.modality for g in planned], dtype=object)[sg]
    switch = (modality == "in_person") & (rng.random(len(sg)) < 0.05)
    modality = np.where(switch, "video", modality)
    captions = np.array([g.captions for g in planned])[sg] & (rng.random(len(sg)) < 0.95)
    written[out / "sessions.csv"] = _write(out / "sessions.csv", HEADERS["sessions.csv"], [
        session_id, gid[sg], starts, dur, host, modality, np.where(captions, "true", "false"),
    ])

    # Attendance in session order, members by id within a session.
    number = np.array([int(member_id[m.person][1:]) for m in ms], dtype=np.int64)
    order = np.lexsort((number[sim.att_membership], sim.att_session))
    excused = sim.att_excused[order]
    status = np.array(["attended", "excused"], dtype=object)[excused.astype(np.int8)]
    minutes = sim.att_minutes[order].astype(object)
    minutes[excused] = None  # written as an empty cell
    written[out / "attendance.csv"] = _write(out / "attendance.csv", HEADERS["attendance.csv"], [
        _Take(session_id, sim.att_session[order]), _Take(ms_member, sim.att_membership[order]),
        status, minutes,
    ])
    del status, minutes, excused

    who, buddy, bday, bsecond, channel = buddies
    bzone = zone_of[_group_of(ms, who)].astype(str) if len(who) else np.zeros(0, str)
    stamps, utc = clock.stamps(bzone, bday, bsecond)
    b_member, b_buddy = ms_member[who], ms_member[buddy]
    # One row per natural key (member, buddy, time), in time order.
    order = np.lexsort((bsecond, bday, buddy, who))
    dupe = np.zeros(len(order), bool)
    if len(order):
        same = ((who[order][1:] == who[order][:-1]) & (buddy[order][1:] == buddy[order][:-1])
                & (bday[order][1:] == bday[order][:-1])
                & (bsecond[order][1:] == bsecond[order][:-1]))
        dupe[1:] = same
    kept = order[~dupe]
    order = kept[np.lexsort((number[buddy[kept]], number[who[kept]], utc[kept]))]
    written[out / "buddy_checkins.csv"] = _write(
        out / "buddy_checkins.csv", HEADERS["buddy_checkins.csv"],
        [b_member[order], b_buddy[order], stamps[order],
         np.array(CHANNELS, dtype=object)[channel[order]]],
    )

    rg, rq, blank, matrix, skipped, comments, sday, ssecond = survey
    stamps, utc = clock.stamps(zone_of[rg].astype(str), sday, ssecond)
    labels = np.array([q[0] for q in quarter_days], dtype=object)
    order = np.lexsort((stamps, utc, rq))
    cells = matrix.astype(object)
    cells[skipped] = None  # a skipped item is an empty cell
    header = ["survey_id", "submitted_at", "group_id", *instrument.item_ids, "comment"]
    columns = [list(labels[rq][order]), list(stamps[order]),
               list(np.where(blank, "", gid[rg])[order])]
    columns += [list(cells[order, j]) for j in range(len(instrument.item_ids))]
    columns.append([comments[int(i)] for i in order])
    written[out / "survey_responses.csv"] = _write(out / "survey_responses.csv", header, columns)
    return written


def _group_of(ms: list[_Membership], indices: np.ndarray) -> np.ndarray:
    groups = np.array([m.group for m in ms], dtype=np.int64)
    return groups[indices]
