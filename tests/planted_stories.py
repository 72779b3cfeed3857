"""Planted stories: an ordinary synthetic program with one true story written into its files.

`hearth synth` with `Scenario(stories=False, varied=True)` writes a *null* program (every group
ordinary, the calibration harness's harder world). A story is then planted by editing those
canonical CSV files the way the real thing would show in an export, in one group (or the whole
program) over the last quarter or two, at a realistic size:

- collapse: a group's attendance falls from its usual ~80% to under a third over its last 8
  sessions;
- drifting: three regulars of one group miss their last 4 sessions, after 3 sessions of fading
  minutes, and stop checking in with their buddies;
- one_host: one member hosts every session of the last quarter;
- newcomers: five newcomers over the last two quarters each come once and never again;
- belonging_drop: one group's belonging answers fall by 2 points (of 5) in the last survey;
- loneliness_rising: program-wide, half of the loneliness answers rise a step;
- improving: a group's attendance rises to ~95% and its belonging by a point;
- buddies_stop: one group's buddy check-ins stop for the whole last quarter;
- below_band: a group down to 6 members for its last two quarters;
- under_cadence: a weekly group meets every other week in the last quarter;
- no_surveys: a group keeps meeting, but none of its members answers the last survey.

tests/test_planted_stories.py loads each program exactly as a user's data (pipelines.ingest,
metrics.refresh) and checks that the story shows where a lead, the council or a coach would look.
Everything is drawn from one seeded generator: the same arguments give the same files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from hearth.config import Config
from hearth.warehouse import connect
from metrics.refresh import refresh
from pipelines.ingest import ingest_paths
from pipelines.synth import END_QUARTER, END_YEAR, Scenario, synthesize

QUARTERS = 4
MEMBERS_PER_GROUP = 11
LAST_QUARTER = f"{END_YEAR}Q{END_QUARTER}"
LAST_START = date(END_YEAR, 3 * END_QUARTER - 2, 1)
PREVIOUS_START = date(END_YEAR - (END_QUARTER == 1), (3 * END_QUARTER - 6) % 12 + 1, 1)

STORIES = ("collapse", "drifting", "one_host", "newcomers", "belonging_drop",
           "loneliness_rising", "improving", "buddies_stop", "below_band", "under_cadence",
           "no_surveys")
PROGRAM_WIDE = {"loneliness_rising"}


def _day(stamp: str) -> date:
    """The local date of a canonical time (its first ten characters: the offset is local)."""
    return date.fromisoformat(stamp[:10])


class Program:
    """The six canonical files of one program as lists of dicts, edited in place."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.headers: dict[str, list[str]] = {}
        self.rows: dict[str, list[dict[str, str]]] = {}
        for path in sorted(folder.glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                self.headers[path.name] = list(reader.fieldnames or [])
                self.rows[path.name] = list(reader)

    def save(self) -> None:
        for name, rows in self.rows.items():
            with (self.folder / name).open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, self.headers[name], lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)

    @property
    def groups(self):
        return self.rows["groups.csv"]

    @property
    def members(self):
        return self.rows["members.csv"]

    @property
    def sessions(self):
        return self.rows["sessions.csv"]

    @property
    def attendance(self):
        return self.rows["attendance.csv"]

    @property
    def buddies(self):
        return self.rows["buddy_checkins.csv"]

    @property
    def survey(self):
        return self.rows["survey_responses.csv"]

    def sessions_of(self, gid: str, since: date | None = None) -> list[dict[str, str]]:
        found = [s for s in self.sessions if s["group_id"] == gid
                 and (since is None or _day(s["starts_at"]) >= since)]
        return sorted(found, key=lambda s: s["starts_at"])

    def roster(self, gid: str, day: date) -> list[dict[str, str]]:
        return [m for m in self.members if m["group_id"] == gid
                and date.fromisoformat(m["joined_on"]) <= day
                and (not m["left_on"] or date.fromisoformat(m["left_on"]) > day)]

    def attended(self, session_id: str) -> dict[str, dict[str, str]]:
        return {a["member_id"]: a for a in self.attendance
                if a["session_id"] == session_id and a["status"] == "attended"}

    def attendance_share(self, gid: str, since: date) -> float:
        expected = hits = 0
        for s in self.sessions_of(gid, since):
            roster = {m["member_id"] for m in self.roster(gid, _day(s["starts_at"]))}
            came = set(self.attended(s["session_id"])) & roster
            expected += len(roster)
            hits += len(came)
        return hits / expected if expected else float("nan")


def ordinary_groups(program: Program) -> list[str]:
    """Weekly groups meeting since before the second-last quarter, with 8-12 members now:
    the groups a story can be planted in and still be told apart from its own past."""
    out = []
    for g in program.groups:
        if g["cadence_days"] != "7" or date.fromisoformat(g["started_on"]) >= PREVIOUS_START:
            continue
        if 8 <= len(program.roster(g["group_id"], LAST_START)) <= 12 \
                and len(program.sessions_of(g["group_id"], LAST_START)) >= 11:
            out.append(g["group_id"])
    return out


def _replace_host(program: Program, session: dict[str, str], leaving: set[str]) -> None:
    """A session whose host no longer comes is hosted by someone who did come."""
    if session["host_member_id"] in leaving:
        came = sorted(set(program.attended(session["session_id"])) - leaving)
        session["host_member_id"] = came[0] if came else ""


def plant_collapse(program: Program, gid: str, rng: np.random.Generator) -> str:
    sessions = program.sessions_of(gid)
    last8 = sessions[-8:]
    usual = np.mean([len(program.attended(s["session_id"])) for s in sessions[-16:-8]])
    for i, s in enumerate(last8):
        # turnout follows the fall, session by session, to ~35% of the usual
        want = max(2, round(usual * (1.0 - 0.65 * (i + 1) / len(last8))))
        came = sorted(program.attended(s["session_id"]))
        host = s["host_member_id"]
        others = [m for m in came if m != host]
        drop_count = max(0, len(came) - want)
        drop = {others[j] for j in rng.choice(len(others), min(drop_count, len(others)),
                                              replace=False)}
        program.attendance[:] = [a for a in program.attendance
                                 if not (a["session_id"] == s["session_id"]
                                         and a["member_id"] in drop)]
    return f"{gid}: attendance collapses over its last 8 sessions"


def _regulars(program: Program, gid: str, sessions: list[dict[str, str]], count: int,
              rng: np.random.Generator) -> list[str]:
    """`count` members on the roster throughout who came to at least 70% of `sessions`."""
    first, last = _day(sessions[0]["starts_at"]), _day(sessions[-1]["starts_at"])
    steady = [m["member_id"] for m in program.roster(gid, first)
              if m in program.roster(gid, last) and m["role"] == "member"]
    came = {mid: sum(mid in program.attended(s["session_id"]) for s in sessions)
            for mid in steady}
    regular = sorted(mid for mid, n in came.items() if n >= 0.7 * len(sessions))
    if len(regular) < count:
        raise AssertionError(f"{gid} has {len(regular)} regulars, the story needs {count}")
    return [regular[i] for i in sorted(rng.choice(len(regular), count, replace=False))]


def plant_drifting(program: Program, gid: str, rng: np.random.Generator) -> str:
    sessions = program.sessions_of(gid)
    fading, missed = sessions[-7:-4], sessions[-4:]
    drifters = set(_regulars(program, gid, sessions[-15:-7], 3, rng))
    for share, s in zip((0.6, 0.4, 0.25), fading, strict=True):
        for mid, row in program.attended(s["session_id"]).items():
            if mid in drifters and row["minutes"]:
                row["minutes"] = str(max(5, round(int(row["minutes"]) * share)))
    gone = {s["session_id"] for s in missed}
    program.attendance[:] = [a for a in program.attendance
                             if not (a["session_id"] in gone and a["member_id"] in drifters)]
    for s in missed:
        _replace_host(program, s, drifters)
    last_day = _day(sessions[-1]["starts_at"])
    program.buddies[:] = [b for b in program.buddies
                          if not ({b["member_id"], b["buddy_id"]} & drifters
                                  and _day(b["checked_in_at"]) > last_day - timedelta(days=45))]
    return f"{gid}: members {', '.join(sorted(drifters))} drift away"


def plant_one_host(program: Program, gid: str, rng: np.random.Generator) -> str:
    sessions = program.sessions_of(gid, LAST_START)
    counts: dict[str, int] = {}
    for s in sessions:
        for mid in program.attended(s["session_id"]):
            counts[mid] = counts.get(mid, 0) + 1
    host = max(sorted(counts), key=lambda mid: counts[mid])
    for s in sessions:
        s["host_member_id"] = host
        if host not in program.attended(s["session_id"]):
            program.attendance[:] = [a for a in program.attendance
                                     if not (a["session_id"] == s["session_id"]
                                             and a["member_id"] == host)]
            program.attendance.append({"session_id": s["session_id"], "member_id": host,
                                       "status": "attended", "minutes": s["duration_minutes"]})
    return f"{gid}: {host} hosts every session of {LAST_QUARTER}"


def plant_newcomers(program: Program, gid: str, rng: np.random.Generator) -> str:
    sessions = program.sessions_of(gid, PREVIOUS_START)[:-3]  # their next 3 have happened
    picks = sorted(rng.choice(len(sessions), 5, replace=False))
    taken = {m["member_id"] for m in program.members}
    for n, k in enumerate(picks):
        s = sessions[int(k)]
        mid = f"x{gid}n{n}"
        if mid in taken:
            raise AssertionError(f"member id {mid} already taken")
        day = _day(s["starts_at"])
        program.members.append({
            "member_id": mid, "name": f"Newcomer {gid.upper()} {n}", "email": "",
            "group_id": gid, "joined_on": (day - timedelta(days=3)).isoformat(),
            "left_on": "", "role": "member", "tier": "standard"})
        program.attendance.append({"session_id": s["session_id"], "member_id": mid,
                                   "status": "attended", "minutes": s["duration_minutes"]})
    return f"{gid}: 5 newcomers come once and never again"


def _survey_rows(program: Program, gid: str | None, quarter: str = LAST_QUARTER):
    return [r for r in program.survey
            if r["survey_id"] == quarter and (gid is None or r["group_id"] == gid)]


def _shift(rows, prefix: str, step: int, low: int, high: int, rng, share: float = 1.0):
    for r in rows:
        for item, value in r.items():
            if item.startswith(prefix) and value and rng.random() < share:
                r[item] = str(int(np.clip(int(value) + step, low, high)))


def plant_belonging_drop(program: Program, gid: str, rng: np.random.Generator) -> str:
    rows = _survey_rows(program, gid)
    if len(rows) < 5:
        raise AssertionError(f"{gid} has {len(rows)} responses in {LAST_QUARTER}")
    _shift(rows, "bel_", -2, 1, 5, rng)
    return f"{gid}: belonging falls by 2 points of 5 in {LAST_QUARTER}"


def plant_loneliness_rising(program: Program, gid: str | None, rng) -> str:
    _shift(_survey_rows(program, None), "lon_", +1, 1, 3, rng, share=0.5)
    return f"program: loneliness rises in {LAST_QUARTER}"


def plant_improving(program: Program, gid: str, rng: np.random.Generator) -> str:
    for s in program.sessions_of(gid, LAST_START):
        came = program.attended(s["session_id"])
        for m in program.roster(gid, _day(s["starts_at"])):
            mid = m["member_id"]
            if mid not in came and rng.random() < 0.8:
                program.attendance[:] = [a for a in program.attendance
                                         if not (a["session_id"] == s["session_id"]
                                                 and a["member_id"] == mid)]
                program.attendance.append({"session_id": s["session_id"], "member_id": mid,
                                           "status": "attended",
                                           "minutes": s["duration_minutes"]})
    _shift(_survey_rows(program, gid), "bel_", +1, 1, 5, rng)
    return f"{gid}: attendance and belonging rise in {LAST_QUARTER}"


def plant_buddies_stop(program: Program, gid: str, rng: np.random.Generator) -> str:
    ours = {m["member_id"] for m in program.members if m["group_id"] == gid}
    program.buddies[:] = [b for b in program.buddies
                          if not ({b["member_id"], b["buddy_id"]} & ours
                                  and _day(b["checked_in_at"]) >= LAST_START)]
    return f"{gid}: buddy check-ins stop in {LAST_QUARTER}"


def plant_below_band(program: Program, gid: str, rng: np.random.Generator) -> str:
    roster = program.roster(gid, PREVIOUS_START)
    members = sorted(m["member_id"] for m in roster if m["role"] == "member")
    leaving = set(members[: max(0, len(roster) - 6)])
    for m in program.members:
        if m["group_id"] == gid and m["member_id"] in leaving:
            m["left_on"] = PREVIOUS_START.isoformat()
    later = {s["session_id"]: s for s in program.sessions_of(gid, PREVIOUS_START)}
    program.attendance[:] = [a for a in program.attendance
                             if not (a["session_id"] in later and a["member_id"] in leaving)]
    # and nobody new joins: the group stays at 6
    program.members[:] = [m for m in program.members
                          if not (m["group_id"] == gid
                                  and date.fromisoformat(m["joined_on"]) >= PREVIOUS_START)]
    kept = {m["member_id"] for m in program.members if m["group_id"] == gid}
    program.attendance[:] = [a for a in program.attendance
                             if not (a["session_id"] in later and a["member_id"] not in kept)]
    for s in later.values():
        _replace_host(program, s, {s["host_member_id"]} - kept)
    program.buddies[:] = [b for b in program.buddies
                          if b["member_id"] in _all_ids(program)
                          and b["buddy_id"] in _all_ids(program)]
    return f"{gid}: down to 6 members for {PREVIOUS_START:%Y} Q{(PREVIOUS_START.month + 2) // 3} "\
           f"and {LAST_QUARTER}"


def _all_ids(program: Program) -> set[str]:
    return {m["member_id"] for m in program.members}


def plant_under_cadence(program: Program, gid: str, rng: np.random.Generator) -> str:
    dropped = {s["session_id"] for s in program.sessions_of(gid, LAST_START)[1::2]}
    program.sessions[:] = [s for s in program.sessions if s["session_id"] not in dropped]
    program.attendance[:] = [a for a in program.attendance if a["session_id"] not in dropped]
    return f"{gid}: meets every other week in {LAST_QUARTER}"


def plant_no_surveys(program: Program, gid: str, rng: np.random.Generator) -> str:
    program.survey[:] = [r for r in program.survey
                         if not (r["survey_id"] == LAST_QUARTER and r["group_id"] == gid)]
    return f"{gid}: no survey responses in {LAST_QUARTER}"


PLANTERS = {name: globals()[f"plant_{name}"] for name in STORIES}


@dataclass
class Planted:
    story: str | None
    group_id: str | None
    description: str
    db: Path
    groups: int


def story_group(program: Program, story: str, rng: np.random.Generator) -> str | None:
    """The group a story goes into: an ordinary weekly group, drawn by the seed; one whose
    last survey has enough answers to be shown when the story is in the survey."""
    if story in PROGRAM_WIDE:
        return None
    candidates = ordinary_groups(program)
    if story in ("belonging_drop", "improving", "no_surveys"):
        candidates = [g for g in candidates if len(_survey_rows(program, g)) >= 6]
    if story == "drifting":
        candidates = [g for g in candidates if len(program.roster(g, LAST_START)) >= 9]
    if not candidates:
        raise AssertionError(f"no group fits the {story} story")
    return candidates[int(rng.integers(len(candidates)))]


def planted_program(folder: Path, groups: int, story: str | None, seed: int = 11) -> Planted:
    """Write, plant, load and refresh one program; the warehouse is folder/program.duckdb."""
    data = folder / "files"
    synthesize(data, members=MEMBERS_PER_GROUP * groups, groups=groups, quarters=QUARTERS,
               seed=seed, scenario=Scenario(stories=False, varied=True))
    gid, description = None, "no story"
    if story is not None:
        rng = np.random.default_rng(seed * 1000 + STORIES.index(story))
        program = Program(data)
        gid = story_group(program, story, rng)
        description = PLANTERS[story](program, gid, rng)
        program.save()
    db = folder / "program.duckdb"
    config = Config()
    summaries = ingest_paths([data / name for name in sorted(p.name for p in
                                                             data.glob("*.csv"))],
                             db=db, config=config)
    for summary in summaries:
        if summary.error or summary.rows_quarantined:
            raise AssertionError(f"{summary}: {summary.error or summary.quarantine_reasons}")
    con = connect(db)
    try:
        refresh(con, config)
    finally:
        con.close()
    return Planted(story, gid, description, db, groups)
