"""Scenario harness: many random communities, stories planted at random groups, read back the
way the held-out checker reads Hearth (`hearth review --json`, `hearth flags --json`,
`hearth watchlist --json`, in process).

Each community is drawn from its seed: its size (10 to 500 groups), members per group, quarters
of data (3 to 6), the survey response rate (a share of each quarter's responses is dropped) and
the effect size of every story; time zones, modalities, tiers and the quarter-to-quarter noise
come from `hearth synth`'s varied world (pipelines/synth.py, `Scenario(varied=True)`).
Stories are planted with tests/planted_stories.py's planters (and three more here: a group's
psychological safety falls, a group's loneliness rises, a high performer) in distinct ordinary
groups, several kinds per community; at least half of the ordinary groups keep no story, and
they are the false-flag sample.

Per story kind the sweep measures
- **found**: the story shows where a reader looks (the kind's flag for its group in
  `hearth flags --json` and in `hearth review --json`'s flag_reasons, its members in
  `hearth watchlist --json`, its recognition in going well, as the review page and the report
  show it: metrics.going_well);
- **reason with evidence**: the found flag's reason is plain words that cite figures;
- **hidden**: a survey story in a group whose figure is under k: found must be *no* (it would
  leak); the review says the figure is hidden instead;
and over the story-free groups, chance flags per 100 judged group-quarters.

Run the sweep: `.venv/bin/python -m tests.story_sweep [--seeds 1 2 3] [--max-groups 200]`
(prints the markdown table docs/metrics.md carries). tests/test_story_sweep.py runs a few fixed
seeds in `make test` and the long sweep behind the `slow` marker.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from hearth.cli import main as hearth_main
from hearth.config import Config
from hearth.warehouse import connect
from metrics.going_well import going_well
from metrics.refresh import refresh
from pipelines.ingest import ingest_paths
from pipelines.synth import Scenario, synthesize
from tests import planted_stories as ps

# --- the three stories planted here (the rest come from tests/planted_stories.py) -------------


def _shift_items(rows, items: dict[str, int], low: int, high: int, rng, share: float) -> None:
    """Move each answer of `items` by its step (reverse-keyed items the other way), for a
    `share` of the respondents (a story touches some members, not every answer)."""
    for r in rows:
        if rng.random() >= share:
            continue
        for item, step in items.items():
            if r.get(item):
                r[item] = str(int(np.clip(int(r[item]) + step, low, high)))


def plant_safety_drop(program, gid, rng, effect: float = 1.0) -> str:
    rows = ps._survey_rows(program, gid)
    step = 2 if effect >= 0.75 else 1
    # psy_1, psy_3 and psy_5 are negatively worded: lower safety answers them higher
    items = {f"psy_{i}": (step if i in (1, 3, 5) else -step) for i in range(1, 8)}
    _shift_items(rows, items, 1, 7, rng, share=0.5 + 0.5 * effect)
    return f"{gid}: psychological safety falls by {step} points of 7 in {ps.LAST_QUARTER}"


def plant_lonely_group(program, gid, rng, effect: float = 1.0) -> str:
    rows = ps._survey_rows(program, gid)
    _shift_items(rows, {"lon_1": 1, "lon_2": 1, "lon_3": 1}, 1, 3, rng,
                 share=0.5 + 0.5 * effect)
    return f"{gid}: loneliness rises in {ps.LAST_QUARTER}"


def plant_high_performer(program, gid, rng, effect: float = 1.0) -> str:
    """Attendance near everyone, every session of the last two quarters, and belonging a
    point higher in both surveys: a group to recognise, not to coach."""
    for s in program.sessions_of(gid, ps.PREVIOUS_START):
        came = program.attended(s["session_id"])
        missing = [m["member_id"] for m in program.roster(gid, ps._day(s["starts_at"]))
                   if m["member_id"] not in came and rng.random() < 0.9]
        if missing:
            absent = set(missing)
            program.attendance[:] = [a for a in program.attendance
                                     if not (a["session_id"] == s["session_id"]
                                             and a["member_id"] in absent)]
            program.attendance.extend({"session_id": s["session_id"], "member_id": mid,
                                       "status": "attended", "minutes": s["duration_minutes"]}
                                      for mid in missing)
    previous = f"{ps.PREVIOUS_START.year}Q{(ps.PREVIOUS_START.month + 2) // 3}"
    for quarter in (previous, ps.LAST_QUARTER):
        _shift_items(ps._survey_rows(program, gid, quarter),
                     {f"bel_{i}": 1 for i in range(1, 5)}, 1, 5, rng, share=1.0)
    return f"{gid}: attends and belongs well above the program for two quarters"


def _with_effect(planter):
    """tests/planted_stories.py's planters have one fixed, realistic size; effect is ignored."""
    return lambda program, gid, rng, effect=1.0: planter(program, gid, rng)


def plant_belonging_drop(program, gid, rng, effect: float = 1.0) -> str:
    step = 2 if effect >= 0.75 else 1
    ps._shift(ps._survey_rows(program, gid), "bel_", -step, 1, 5, rng,
              share=0.5 + 0.5 * effect)
    return f"{gid}: belonging falls by {step} points of 5 in {ps.LAST_QUARTER}"


PLANTERS = {
    "collapse": _with_effect(ps.plant_collapse),
    "drifting": _with_effect(ps.plant_drifting),
    "one_host": _with_effect(ps.plant_one_host),
    "newcomers": _with_effect(ps.plant_newcomers),
    "belonging_drop": plant_belonging_drop,
    "safety_drop": plant_safety_drop,
    "lonely_group": plant_lonely_group,
    "buddies_stop": _with_effect(ps.plant_buddies_stop),
    "improving": _with_effect(ps.plant_improving),
    "high_performer": plant_high_performer,
    "under_cadence": _with_effect(ps.plant_under_cadence),
}
KINDS = tuple(PLANTERS)
SURVEY_STORIES = {"belonging_drop": "belonging", "safety_drop": "psychological_safety",
                  "lonely_group": "loneliness_share"}
GOOD_STORIES = {"improving", "high_performer"}
# The flag a struggling story should raise for its group (any one of them counts).
STORY_FLAGS = {
    "collapse": {"declining_attendance", "below_expected_attendance"},
    "drifting": {"withdrawal_cluster"},
    "one_host": {"single_host"},
    "newcomers": {"newcomers_not_returning"},
    "belonging_drop": {"low_belonging", "belonging_falling"},
    "safety_drop": {"low_safety", "safety_falling"},
    "lonely_group": {"loneliness_rising"},
    "buddies_stop": {"buddy_checkins_stopped"},
    "under_cadence": {"meeting_less_often"},
}
NOT_AN_ALARM = "cant_tell_yet"
SIZES = (10, 500)


@dataclass
class Settings:
    """One community's draw."""

    seed: int
    groups: int
    members_per_group: int
    quarters: int
    response_rate: float
    effects: dict[str, float] = field(default_factory=dict)

    def words(self) -> str:
        return (f"seed {self.seed}: {self.groups} groups x {self.members_per_group} members, "
                f"{self.quarters} quarters, {self.response_rate:.0%} of survey responses kept")


def draw_settings(seed: int, max_groups: int = SIZES[1], min_groups: int = SIZES[0]) -> Settings:
    rng = np.random.default_rng(seed)
    # sizes spread on a log scale: as many small programs as large ones
    groups = int(round(np.exp(rng.uniform(np.log(min_groups), np.log(max_groups)))))
    return Settings(seed, groups, int(rng.integers(9, 14)), int(rng.integers(3, 7)),
                    float(rng.uniform(0.55, 1.0)))


@dataclass
class Story:
    kind: str
    group_id: str
    effect: float
    description: str
    hidden: bool = False          # a survey story whose figure is under k in the last quarter
    members: list[str] = field(default_factory=list)  # drifting: who must be on the watchlist


@dataclass
class Outcome:
    story: Story
    found: bool
    reason: str | None = None     # the plain-language reason shown, when found
    cites_figures: bool = False
    leaked: bool = False          # a hidden group's survey story shown anyway
    detail: str = ""


@dataclass
class Community:
    settings: Settings
    stories: list[Story]
    clean: set[str]               # ordinary groups with no story (the false-flag sample)
    review: dict[str, Any]
    flags: dict[str, list[dict]]  # quarter -> `hearth flags --json`
    watchlist: list[dict]
    outcomes: list[Outcome] = field(default_factory=list)
    chance: Counter = field(default_factory=Counter)
    judged: int = 0
    wrong_group_members: int = 0  # watchlist rows naming a member outside the row's group
    seconds: float = 0.0


def _thin_survey(program, rate: float, rng) -> None:
    """Keep `rate` of the responses: response rates differ between programs."""
    program.survey[:] = [r for r in program.survey if rng.random() < rate]


def _candidates(program, kind: str, taken: set[str]) -> list[str]:
    out = [g for g in ps.ordinary_groups(program) if g not in taken]
    if kind == "drifting":
        out = [g for g in out if len(program.roster(g, ps.LAST_START)) >= 9]
    if kind == "high_performer":
        out = [g for g in out if len(program.sessions_of(g, ps.PREVIOUS_START)) >= 22]
    return out


def _regulars_ok(program, gid: str) -> bool:
    sessions = program.sessions_of(gid)
    try:
        ps._regulars(program, gid, sessions[-15:-7], 3, np.random.default_rng(0))
    except AssertionError:
        return False
    return True


def plant(program, settings: Settings, rng) -> tuple[list[Story], set[str]]:
    """Plant stories in distinct ordinary groups; the rest of the ordinary groups stay clean.
    At most half of the ordinary groups get a story; larger programs get several of a kind."""
    ordinary = ps.ordinary_groups(program)
    budget = len(ordinary) // 2
    per_kind = max(1, len(ordinary) // (4 * len(KINDS)))
    kinds = [k for k in rng.permutation(KINDS) for _ in range(per_kind)][:budget]
    stories, taken = [], set()
    for kind in kinds:
        options = _candidates(program, kind, taken)
        rng.shuffle(options)
        for gid in options:
            if kind == "drifting" and not _regulars_ok(program, gid):
                continue
            effect = float(rng.choice([0.5, 1.0]))
            story = Story(str(kind), gid, effect, PLANTERS[kind](program, gid, rng, effect))
            if kind == "drifting":
                # a drifter the generator has leave the group before the quarter ends has left
                # (churn), not drifted: the watchlist rightly lists only current members
                named = story.description.split("members ")[1].split(" drift")[0].split(", ")
                staying = {m["member_id"] for m in program.members
                           if m["group_id"] == gid and not m["left_on"]}
                story.members = [m for m in named if m in staying]
            stories.append(story)
            taken.add(gid)
            break
    return stories, set(ordinary) - taken


def _cli_json(db: Path, *args: str) -> Any:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = hearth_main(["--db", str(db), *args, "--json"])
    if code != 0:
        raise AssertionError(f"hearth {' '.join(args)} --json exited {code}")
    return json.loads(out.getvalue())


def load(db: Path, settings: Settings) -> None:
    """Write and plant one community beside `db`, load and refresh it into `db`; the stories
    planted go to stories.json beside it (so a built community can be read again), and the
    loaded warehouse before its refresh to ingested.duckdb (so it can be refreshed again by
    changed rules: `--workdir`)."""
    folder = db.parent
    ingested = folder / "ingested.duckdb"
    if ingested.exists() and (folder / "stories.json").exists():
        shutil.copyfile(ingested, db)
        _refresh(db)
        return
    data = folder / "files"
    synthesize(data, members=settings.members_per_group * settings.groups,
               groups=settings.groups, quarters=settings.quarters, seed=settings.seed,
               scenario=Scenario(stories=False, varied=True))
    rng = np.random.default_rng(settings.seed + 7_000_000)
    program = ps.Program(data)
    _thin_survey(program, settings.response_rate, rng)
    stories, clean = plant(program, settings, rng)
    program.save()
    config = Config()
    for summary in ingest_paths(sorted(data.glob("*.csv")), db=db, config=config):
        if summary.error or summary.rows_quarantined:
            raise AssertionError(f"{summary}: {summary.error or summary.quarantine_reasons}")
    shutil.copyfile(db, ingested)
    _refresh(db)
    (folder / "stories.json").write_text(json.dumps(
        {"stories": [vars(s) for s in stories], "clean": sorted(clean)}), encoding="utf-8")


def _refresh(db: Path) -> None:
    con = connect(db)
    try:
        refresh(con, Config())
    finally:
        con.close()


def read(db: Path, settings: Settings) -> Community:
    """What the checker reads of a loaded community (the CLI's JSON, in process), judged."""
    planted = json.loads((db.parent / "stories.json").read_text(encoding="utf-8"))
    stories = [Story(**s) for s in planted["stories"]]
    con = duckdb.connect(str(db), read_only=True)
    try:
        quarters = [q for (q,) in con.execute(
            "SELECT DISTINCT quarter FROM marts.indicators ORDER BY quarter").fetchall()]
        present = {q: {g for (g,) in con.execute(
            "SELECT DISTINCT group_id FROM marts.indicators WHERE quarter = ? "
            "AND group_id IS NOT NULL", [q]).fetchall()} for q in quarters}
        memberships = set(con.execute("SELECT member_id, group_id FROM core.memberships")
                          .fetchall())
    finally:
        con.close()
    review = _cli_json(db, "review")
    flags = {q: _cli_json(db, "flags", "--quarter", q) for q in quarters}
    watchlist = _cli_json(db, "watchlist")
    # recognitions as the review page and the report show them (`hearth review --json` stays
    # free of pandas: tests/test_metrics_sample.py pins its imports)
    con = duckdb.connect(str(db), read_only=True)
    try:
        review["going_well"] = going_well(con, review["quarter"], Config())
    finally:
        con.close()
    community = Community(settings, stories, set(planted["clean"]), review, flags, watchlist)
    judge(community, present, memberships)
    return community


def build(folder: Path, settings: Settings) -> Community:
    """Load one community into `folder` and read it back."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "program.duckdb"
    load(db, settings)
    community = read(db, settings)
    community.seconds = time.perf_counter() - started
    return community


_FIGURE = re.compile(r"\d")


def _raised(records: list[dict], gid: str) -> dict[str, dict]:
    return {f["flag"]: f for f in records if f["group_id"] == gid and f["state"] != "resolved"}


def judge(c: Community, present: dict[str, set[str]], memberships: set[tuple[str, str]]) -> None:
    last = c.review["quarter"]
    quarters = sorted(c.flags)
    going_well = c.review.get("going_well", {})
    for story in c.stories:
        gid = story.group_id
        group = c.review["groups"].get(gid, {})
        raised = _raised(c.flags[last], gid)
        key = SURVEY_STORIES.get(story.kind)
        if key is not None:
            story.hidden = group.get("indicators", {}).get(key, {}).get("status") != "ok"
        outcome = Outcome(story, False)
        if story.kind in GOOD_STORIES:
            items = [g for g in going_well.get("groups", []) if g["group_id"] == gid]
            outcome.found = bool(items) and not raised
            outcome.reason = "; ".join(i["text"] for i in items) or None
            outcome.cites_figures = bool(outcome.reason and _FIGURE.search(outcome.reason))
            outcome.detail = ", ".join(raised)
        else:
            wanted = STORY_FLAGS[story.kind]
            window = quarters[-2:] if story.kind == "newcomers" else [last]
            hits = [f for q in window for name, f in _raised(c.flags[q], gid).items()
                    if name in wanted]
            outcome.found = bool(hits)
            if hits:
                outcome.reason = hits[-1]["reason"]
                outcome.cites_figures = bool(_FIGURE.search(outcome.reason))
            outcome.detail = ", ".join(raised) or "no flag"
            if story.kind == "drifting":
                drifters = set(story.members)
                named = {r["member_id"] for r in c.watchlist
                         if r["group_id"] == gid and r["signal"] == "stopped_coming"}
                outcome.found = outcome.found and drifters <= named
                outcome.detail += f"; {len(drifters & named)}/{len(drifters)} drifters listed"
            if story.hidden:
                # under k the story must not be told: a flag would leak the hidden figure
                outcome.leaked = outcome.found
                outcome.found = False
        c.outcomes.append(outcome)
    for q in quarters:
        raised = [f for f in c.flags[q] if f["state"] != "resolved" and f["group_id"] in c.clean]
        too_early = {f["group_id"] for f in raised if f["flag"] == NOT_AN_ALARM}
        c.chance.update(f["flag"] for f in raised
                        if f["flag"] != NOT_AN_ALARM and f["group_id"] not in too_early)
        c.judged += len((present[q] & c.clean) - too_early)
    c.wrong_group_members = sum((r["member_id"], r["group_id"]) not in memberships
                                for r in c.watchlist)


@dataclass
class Table:
    """Per story kind: planted, found, found with figures in the reason, hidden, leaked."""

    planted: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)
    cites: Counter = field(default_factory=Counter)
    hidden: Counter = field(default_factory=Counter)
    leaked: Counter = field(default_factory=Counter)
    by_effect: Counter = field(default_factory=Counter)   # (kind, effect, found) -> count
    chance: Counter = field(default_factory=Counter)
    judged: int = 0
    wrong_group_members: int = 0
    communities: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def add(self, c: Community) -> None:
        self.communities.append(c.settings.words())
        for o in c.outcomes:
            kind = o.story.kind
            if o.story.hidden:
                self.hidden[kind] += 1
                self.leaked[kind] += o.leaked
                continue
            self.planted[kind] += 1
            self.found[kind] += o.found
            self.cites[kind] += o.found and o.cites_figures
            self.by_effect[(kind, o.story.effect, o.found)] += 1
            if not o.found:
                self.misses.append(f"seed {c.settings.seed} {o.story.description} "
                                   f"[effect {o.story.effect}]: {o.detail}")
        self.chance.update(c.chance)
        self.judged += c.judged
        self.wrong_group_members += c.wrong_group_members

    def power(self, kind: str) -> float:
        return self.found[kind] / self.planted[kind] if self.planted[kind] else float("nan")

    def chance_per_100(self) -> float:
        return 100.0 * sum(self.chance.values()) / self.judged if self.judged else float("nan")

    def markdown(self) -> str:
        lines = ["| story | planted | found | reason cites figures | hidden (under k) | "
                 "leaked |", "|---|---:|---:|---:|---:|---:|"]
        for kind in KINDS:
            n = self.planted[kind]
            found = f"{self.found[kind]} ({self.power(kind):.0%})" if n else "-"
            cites = f"{self.cites[kind]}/{self.found[kind]}" if self.found[kind] else "-"
            lines.append(f"| {kind} | {n} | {found} | {cites} | {self.hidden[kind]} | "
                         f"{self.leaked[kind]} |")
        lines += ["", f"Story-free groups: {self.judged:,} judged group-quarters, "
                      f"{sum(self.chance.values())} flags = **{self.chance_per_100():.2f} per "
                      f"100** ({', '.join(f'{k} {v}' for k, v in self.chance.most_common())}"
                      f"); watchlist rows naming a member of another group: "
                      f"{self.wrong_group_members}."]
        return "\n".join(lines)


def sweep(seeds, workdir: Path, max_groups: int = SIZES[1], min_groups: int = SIZES[0],
          log=None) -> Table:
    table = Table()
    for seed in seeds:
        settings = draw_settings(seed, max_groups, min_groups)
        community = build(workdir / f"community-{seed}-{settings.groups}", settings)
        table.add(community)
        if log:
            print(f"{settings.words()}: {len(community.stories)} stories, "
                  f"{community.seconds:.0f} s", file=log, flush=True)
    return table


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    parser.add_argument("--max-groups", type=int, default=SIZES[1])
    parser.add_argument("--min-groups", type=int, default=SIZES[0])
    parser.add_argument("--misses", action="store_true", help="list every missed story")
    parser.add_argument("--workdir", type=Path,
                        help="keep the communities here; a community already loaded there is "
                             "refreshed again (by the rules as they are now), not rebuilt")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hearth-stories-") as tmp:
        table = sweep(args.seeds, args.workdir or Path(tmp), args.max_groups, args.min_groups,
                      log=sys.stderr)
    print("\n".join(f"- {c}" for c in table.communities))
    print()
    print(table.markdown())
    if args.misses:
        print("\nMissed:\n" + "\n".join(f"- {m}" for m in table.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
