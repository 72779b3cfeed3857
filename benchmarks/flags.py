"""Flag calibration: how often each flag fires by chance, and how often it finds a real story.

Programs are written by `hearth synth` (pipelines/synth.py) with `Scenario(varied=True)`: group
attendance levels spread wider than in the bundled sample, groups drift from quarter to
quarter, turnout dips in the summer and around the new year, survey levels differ between
groups. Each program is loaded and refreshed exactly as a user's data would be
(pipelines.ingest, metrics.refresh) and its marts.flags read back.

- **Null programs** (`Scenario(stories=False)`): no story anywhere, so every flag is a chance
  flag. Printed: chance flags per 100 judged group-quarters, per flag and all together.
  `cant_tell_yet` ("too early to judge") is information, not an alarm, and is not counted; a
  group-quarter it marks is not judged and is left out of the denominator.
- **Story programs** at each strength (weak 0.4, medium 0.7, strong 1.0 = the bundled
  sample's level): each struggling story is planted in one group; recall is the share of
  programs whose story group raises the story's flag in one of the last three quarters. The
  ordinary groups of these programs (and the thriving group) add to the chance count.

Sizes 10, 25, 100 and 1,000 groups, six quarters each (as the bundled sample), several seeds per size (fewer for
larger programs, which hold more group-quarters each). The CI test runs `calibrate` at 10
groups with one seed (tests/test_flags_calibration.py).

Run: `.venv/bin/python benchmarks/flags.py [--sizes 10 25 100 1000] [--seeds N]`
(`make bench` runs the full size).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hearth.config import Config  # noqa: E402
from hearth.warehouse import connect  # noqa: E402
from metrics.refresh import refresh  # noqa: E402
from pipelines.ingest import ingest_paths  # noqa: E402
from pipelines.synth import Scenario, story_groups, synthesize  # noqa: E402

SIZES = (10, 25, 100, 1000)
QUARTERS = 6
MEMBERS_PER_GROUP = 11
STRENGTHS = {"weak": 0.4, "medium": 0.7, "strong": 1.0}
# The flag each struggling story should raise (thriving is a story with no flag to find).
STORY_FLAG = {
    "declining_attendance": "declining_attendance",
    "single_host": "single_host",
    "low_safety": "low_safety",
    "small_group": "shrinking",
    "newcomers_not_returning": "newcomers_not_returning",
}
NOT_AN_ALARM = {"cant_tell_yet"}
# Stories are planted in the last one to three quarters (pipelines/synth.py STORY_QUARTERS;
# the small group loses its members two and three quarters before the end).
STORY_WINDOW = 3
# Seeds per size for the full run (fewer for larger programs, which hold more group-quarters).
SEEDS = {10: 8, 25: 4, 100: 2, 1000: 1}
STORY_SEEDS = {10: 4, 25: 2, 100: 1, 1000: 1}


@dataclass
class Tally:
    """Chance flags and recall, accumulated over programs of one size."""

    groups: int
    group_quarters: int = 0                         # judged ordinary group-quarters
    chance: Counter = field(default_factory=Counter)  # flag -> chance flags
    found: Counter = field(default_factory=Counter)   # (story, strength) -> programs found
    planted: Counter = field(default_factory=Counter)  # (story, strength) -> programs planted
    seconds: float = 0.0

    def chance_per_100(self, flag: str | None = None) -> float:
        hits = sum(self.chance.values()) if flag is None else self.chance[flag]
        return 100.0 * hits / self.group_quarters if self.group_quarters else float("nan")


def run_program(folder: Path, groups: int, seed: int, scenario: Scenario):
    """Synthesize, ingest and refresh one program; (flags rows, judged (quarter, group) set,
    quarters in order)."""
    db = folder / "program.duckdb"
    config = Config()
    if not db.exists():  # (--workdir keeps loaded programs, to recalibrate without reloading)
        synthesize(folder, members=MEMBERS_PER_GROUP * groups, groups=groups,
                   quarters=QUARTERS, seed=seed, scenario=scenario)
        ingest_paths([folder / name for name in sorted(p.name for p in folder.glob("*.csv"))],
                     db=folder / "loading.duckdb", config=config)
        (folder / "loading.duckdb").rename(db)
    con = connect(db)
    try:
        refresh(con, config)
        # (a "resolved" row is news about an earlier flag, not a flag)
        flags = con.execute("SELECT quarter, group_id, flag FROM marts.flags "
                            "WHERE state <> 'resolved'").fetchall()
        present = con.execute(
            "SELECT DISTINCT quarter, group_id FROM marts.indicators WHERE group_id IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    too_early = {(q, g) for q, g, f in flags if f in NOT_AN_ALARM}
    judged = {(q, g) for q, g in present} - too_early
    quarters = sorted({q for q, _ in present})
    return flags, judged, quarters


def calibrate(groups: int, seeds: int, story_seeds: int, workdir: Path,
              strengths: dict[str, float] | None = None, first_seed: int = 101) -> Tally:
    """Null and story programs of one size; the tally of chance flags and recall."""
    strengths = STRENGTHS if strengths is None else strengths
    tally = Tally(groups)
    started = time.perf_counter()
    for seed in range(first_seed, first_seed + seeds):
        flags, judged, _ = run_program(workdir / f"null-{groups}-{seed}", groups, seed,
                                       Scenario(stories=False, varied=True))
        tally.group_quarters += len(judged)
        tally.chance.update(f for q, g, f in flags if (q, g) in judged)
    struggling = {gid for story, gid in story_groups(groups).items() if story in STORY_FLAG}
    for label, strength in strengths.items():
        for seed in range(first_seed, first_seed + story_seeds):
            flags, judged, quarters = run_program(
                workdir / f"story-{groups}-{label}-{seed}", groups, seed,
                Scenario(stories=True, strength=strength, varied=True))
            story_quarters = set(quarters[-STORY_WINDOW:])
            raised = {(q, g, f) for q, g, f in flags}
            for story, gid in story_groups(groups).items():
                if story not in STORY_FLAG:
                    continue
                tally.planted[(story, label)] += 1
                if any((q, gid, STORY_FLAG[story]) in raised for q in story_quarters):
                    tally.found[(story, label)] += 1
            if label == "strong":  # ordinary groups of story programs are null groups too
                ordinary = {(q, g) for q, g in judged if g not in struggling}
                tally.group_quarters += len(ordinary)
                tally.chance.update(f for q, g, f in flags if (q, g) in ordinary)
    tally.seconds = time.perf_counter() - started
    return tally


def all_flags() -> list[str]:
    from metrics.definitions import FLAG_RULES

    return [rule.flag for rule in FLAG_RULES]


def format_tables(tallies: list[Tally], strengths: dict[str, float] | None = None) -> str:
    """The two markdown tables docs/metrics.md carries: chance flags, then recall."""
    strengths = STRENGTHS if strengths is None else strengths
    flags = all_flags()
    lines = ["Chance flags per 100 judged group-quarters (null programs, and the ordinary groups "
             "of strong-story programs):", "",
             "| flag | " + " | ".join(f"{t.groups} groups" for t in tallies) + " |",
             "|---|" + "---:|" * len(tallies)]
    for flag in flags:
        lines.append(f"| `{flag}` | " + " | ".join(
            f"{t.chance_per_100(flag):.2f}" for t in tallies) + " |")
    lines.append("| **all flags** | " + " | ".join(
        f"**{t.chance_per_100():.2f}**" for t in tallies) + " |")
    lines.append("| group-quarters judged | " + " | ".join(
        f"{t.group_quarters:,}" for t in tallies) + " |")
    lines += ["", "Recall: programs whose story group raised the story's flag in the last three "
              "quarters (found / planted):", "",
              "| story (flag) | strength | " + " | ".join(f"{t.groups} groups" for t in tallies)
              + " |", "|---|---|" + "---:|" * len(tallies)]
    for story, flag in STORY_FLAG.items():
        for label in strengths:
            cells = []
            for t in tallies:
                planted = t.planted[(story, label)]
                cells.append(f"{t.found[(story, label)]}/{planted}" if planted else "-")
            lines.append(f"| {story} (`{flag}`) | {label} ({strengths[label]}) | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seeds", type=int, help="null programs per size (default: by size)")
    parser.add_argument("--story-seeds", type=int, help="story programs per size and strength")
    parser.add_argument("--strengths", nargs="+", choices=list(STRENGTHS),
                        default=list(STRENGTHS), help="story strengths to plant")
    parser.add_argument("--workdir", type=Path,
                        help="keep the loaded programs here and reuse them on the next run "
                             "(default: a temporary folder)")
    args = parser.parse_args(argv)
    strengths = {label: STRENGTHS[label] for label in args.strengths}
    tallies = []
    with tempfile.TemporaryDirectory(prefix="hearth-flags-") as tmp:
        workdir = args.workdir or Path(tmp)
        for groups in args.sizes:
            tally = calibrate(groups, args.seeds or SEEDS.get(groups, 1),
                              args.story_seeds or STORY_SEEDS.get(groups, 1), workdir,
                              strengths)
            print(f"{groups} groups: {tally.group_quarters} judged group-quarters, "
                  f"{tally.chance_per_100():.2f} chance flags per 100, {tally.seconds:.0f} s",
                  file=sys.stderr, flush=True)
            tallies.append(tally)
    print(format_tables(tallies, strengths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
