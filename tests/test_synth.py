"""`hearth synth`: deterministic, canonical, internally consistent, and the stories are there."""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hearth.cli import main
from hearth.errors import HearthError
from hearth.instrument import load_instrument
from pipelines.synth import FILES, HEADERS, story_groups, synthesize

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SMALL = dict(members=75, groups=7, quarters=4)


def read(folder: Path) -> dict[str, list[dict[str, str]]]:
    out = {}
    for name in FILES:
        with (folder / name).open(encoding="utf-8", newline="") as handle:
            out[name.removesuffix(".csv")] = list(csv.DictReader(handle))
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("small")
    synthesize(folder, seed=11, **SMALL)
    return read(folder)


@pytest.fixture(scope="module")
def sample() -> dict:
    return read(SAMPLE)


def day(text: str) -> date:
    return date.fromisoformat(text)


def session_date(session_id: str) -> date:
    return day(session_id[-10:])


def on_roster(membership: dict, when: date) -> bool:
    left = membership["left_on"]
    return day(membership["joined_on"]) <= when and (not left or when <= day(left))


def roster_by_session(data: dict) -> dict[str, set[str]]:
    by_group = defaultdict(list)
    for m in data["members"]:
        by_group[m["group_id"]].append(m)
    return {
        s["session_id"]: {m["member_id"] for m in by_group[s["group_id"]]
                          if on_roster(m, session_date(s["session_id"]))}
        for s in data["sessions"]
    }


def attended_by_session(data: dict) -> dict[str, set[str]]:
    out = defaultdict(set)
    for row in data["attendance"]:
        if row["status"] == "attended":
            out[row["session_id"]].add(row["member_id"])
    return out


def quarter(when: date) -> str:
    return f"{when.year}Q{(when.month - 1) // 3 + 1}"


def session_shares(data: dict, group_id: str) -> list[float]:
    """Attended / expected (excused left out) per session of a group, in date order."""
    roster = roster_by_session(data)
    excused = defaultdict(set)
    for row in data["attendance"]:
        if row["status"] == "excused":
            excused[row["session_id"]].add(row["member_id"])
    came = attended_by_session(data)
    sessions = sorted(s["session_id"] for s in data["sessions"] if s["group_id"] == group_id)
    return [len(came[s]) / len(roster[s] - excused[s]) for s in sessions]


def history(data: dict, group_id: str) -> dict[str, str]:
    """Per member of a group: one character per roster session, X attended, e excused, . missed."""
    roster = roster_by_session(data)
    status = {(r["session_id"], r["member_id"]): r["status"] for r in data["attendance"]}
    marks = defaultdict(str)
    for s in sorted(s["session_id"] for s in data["sessions"] if s["group_id"] == group_id):
        for member in sorted(roster[s]):
            marks[member] += {"attended": "X", "excused": "e"}.get(status.get((s, member)), ".")
    return dict(marks)


def index(answers: dict, construct: str) -> float | None:
    """The 0-100 index of one response for a construct, reverse-keying by the instrument."""
    instrument = load_instrument()
    values = []
    for item in instrument.items_of(construct):
        if answers[item.item_id]:
            v = int(answers[item.item_id])
            if item.reverse_keyed:
                v = item.scale_min + item.scale_max - v
            values.append((v - item.scale_min) / (item.scale_max - item.scale_min) * 100)
    return sum(values) / len(values) if values else None


def mean_index(data: dict, group_id: str, survey_id: str, construct: str) -> tuple[float, int]:
    scores = [index(r, construct) for r in data["survey_responses"]
              if r["group_id"] == group_id and r["survey_id"] == survey_id]
    scores = [s for s in scores if s is not None]
    return sum(scores) / len(scores), len(scores)


# --- determinism ---------------------------------------------------------------------------------

def test_the_same_seed_writes_byte_identical_files(tmp_path):
    first = synthesize(tmp_path / "a", seed=3, **SMALL)
    second = synthesize(tmp_path / "b", seed=3, **SMALL)
    assert [p.name for p in first] == list(FILES)
    assert list(first.values()) == list(second.values())
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_different_seed_writes_different_data(tmp_path):
    synthesize(tmp_path / "a", seed=3, **SMALL)
    synthesize(tmp_path / "b", seed=4, **SMALL)
    differing = [name for name in FILES
                 if (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()]
    assert differing == list(FILES)


def test_the_bundled_sample_is_the_default_output(tmp_path):
    written = synthesize(tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), (
            f"data/sample/{name} is stale: run `hearth synth --out data/sample`")
    assert written[tmp_path / "groups.csv"] == 20
    assert 8000 <= written[tmp_path / "attendance.csv"] <= 10000


def test_the_returned_row_counts_match_the_files(tmp_path, small):
    written = synthesize(tmp_path, seed=11, **SMALL)
    assert {p.name.removesuffix(".csv"): n for p, n in written.items()} == {
        kind: len(rows) for kind, rows in small.items()}


# --- canonical formats ---------------------------------------------------------------------------

def test_every_file_has_exactly_the_canonical_header(tmp_path):
    synthesize(tmp_path, seed=1, **SMALL)
    instrument = load_instrument()
    expected = dict(HEADERS)
    expected["survey_responses.csv"] = [
        "survey_id", "submitted_at", "group_id", *instrument.item_ids, "comment"]
    assert expected["groups.csv"] == ["group_id", "name", "modality", "language", "time_zone",
                                      "cadence_days", "coach", "started_on", "cohort"]
    assert expected["attendance.csv"] == ["session_id", "member_id", "status", "minutes"]
    for name in FILES:
        with (tmp_path / name).open(encoding="utf-8") as handle:
            assert handle.readline().rstrip("\n").split(",") == expected[name], name


def test_values_are_inside_the_documented_vocabularies(small):
    for g in small["groups"]:
        assert g["modality"] in {"video", "audio", "text", "in_person", "hybrid"}
        assert g["cohort"] in {"pilot", "scale_up"}
        assert g["cadence_days"] in {"7", "14"}
        ZoneInfo(g["time_zone"])
    for m in small["members"]:
        assert m["role"] in {"member", "facilitator", "mentor"}
        assert m["tier"] in {"light", "standard", "intensive"}
        assert not m["left_on"] or m["left_on"] >= m["joined_on"]
    for s in small["sessions"]:
        assert s["captioned"] in {"true", "false"}
        assert 1 <= int(s["duration_minutes"]) <= 600
    for a in small["attendance"]:
        assert a["status"] in {"attended", "excused"}  # absences are implied, never listed
        assert (a["minutes"] == "") == (a["status"] == "excused")
        assert a["status"] == "excused" or 0 <= int(a["minutes"]) <= 600
    assert {b["channel"] for b in small["buddy_checkins"]} <= {"call", "message", "video",
                                                                "in_person"}


def test_ids_follow_the_documented_patterns(small):
    assert [g["group_id"] for g in small["groups"]] == [f"g{i:02d}" for i in range(1, 8)]
    member_ids = sorted({m["member_id"] for m in small["members"]})
    assert member_ids == [f"m{i:04d}" for i in range(1, SMALL["members"] + 1)]
    for s in small["sessions"]:
        local = datetime.fromisoformat(s["starts_at"])
        assert s["session_id"] == f"{s['group_id']}-{local.date().isoformat()}"


def test_times_carry_the_offset_of_the_groups_zone_on_that_date(sample):
    zone = {g["group_id"]: ZoneInfo(g["time_zone"]) for g in sample["groups"]}
    for s in sample["sessions"]:
        when = datetime.fromisoformat(s["starts_at"])
        local = when.replace(tzinfo=zone[s["group_id"]])
        assert when.utcoffset() == local.utcoffset(), s["session_id"]
    offsets = {datetime.fromisoformat(s["starts_at"]).utcoffset() for s in sample["sessions"]
               if s["group_id"] == "g11"}  # Sydney: daylight saving comes and goes
    assert len(offsets) == 2


def test_the_timeline_runs_six_quarters_to_2026q3_with_a_pilot_first(sample):
    starts = {g["group_id"]: (g["cohort"], g["started_on"]) for g in sample["groups"]}
    assert starts["g01"] == ("pilot", "2025-04-01") and starts["g02"] == ("pilot", "2025-04-01")
    scale_up = [s for gid, (cohort, s) in starts.items() if cohort == "scale_up"]
    assert len(scale_up) == 18 and all("2025-07-01" <= s <= "2025-12-31" for s in scale_up)
    dates = sorted(session_date(s["session_id"]) for s in sample["sessions"])
    assert dates[0] == date(2025, 4, 1) and dates[-1] <= date(2026, 9, 30)
    assert sorted({r["survey_id"] for r in sample["survey_responses"]}) == [
        "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    for g in sample["groups"]:
        first = min(s["session_id"] for s in sample["sessions"] if s["group_id"] == g["group_id"])
        assert session_date(first).isoformat() == g["started_on"]


# --- referential integrity and realism -----------------------------------------------------------

@pytest.mark.parametrize("which", ["small", "sample"])
def test_attendance_is_of_roster_members_on_the_session_date(which, request):
    data = request.getfixturevalue(which)
    roster = roster_by_session(data)
    seen = set()
    for row in data["attendance"]:
        assert row["member_id"] in roster[row["session_id"]], row
        key = (row["session_id"], row["member_id"])
        assert key not in seen
        seen.add(key)


@pytest.mark.parametrize("which", ["small", "sample"])
def test_hosts_are_members_of_the_group_that_day_and_attended(which, request):
    data = request.getfixturevalue(which)
    roster = roster_by_session(data)
    came = attended_by_session(data)
    for s in data["sessions"]:
        if s["host_member_id"]:
            assert s["host_member_id"] in roster[s["session_id"]]
            assert s["host_member_id"] in came[s["session_id"]]


@pytest.mark.parametrize("which", ["small", "sample"])
def test_buddies_are_two_members_of_one_group(which, request):
    data = request.getfixturevalue(which)
    groups_of = defaultdict(set)
    for m in data["members"]:
        groups_of[m["member_id"]].add(m["group_id"])
    keys = set()
    for b in data["buddy_checkins"]:
        assert b["member_id"] != b["buddy_id"]
        assert groups_of[b["member_id"]] & groups_of[b["buddy_id"]]
        key = (b["member_id"], b["buddy_id"], b["checked_in_at"])
        assert key not in keys
        keys.add(key)


def test_groups_start_with_8_to_12_members(sample, small):
    for data in (sample, small):
        for g in data["groups"]:
            started = day(g["started_on"])
            founders = [m for m in data["members"]
                        if m["group_id"] == g["group_id"] and on_roster(m, started)]
            assert 8 <= len(founders) <= 12, g["group_id"]


def test_the_community_has_joiners_leavers_roles_tiers_and_languages(sample):
    members = sample["members"]
    assert len({m["member_id"] for m in members}) == 220
    joined_late = [m for m in members if m["joined_on"] > "2025-12-31"]
    assert len(joined_late) >= 15
    assert sum(1 for m in members if m["left_on"]) >= 10
    assert Counter(m["role"] for m in members).keys() == {"member", "facilitator", "mentor"}
    assert Counter(m["tier"] for m in members).keys() == {"light", "standard", "intensive"}
    assert {g["language"] for g in sample["groups"]} == {"en", "es", "fr"}
    assert len({g["time_zone"] for g in sample["groups"]}) >= 5
    assert len({g["modality"] for g in sample["groups"]}) == 5
    assert {s["captioned"] for s in sample["sessions"]} == {"true", "false"}
    # One pilot member goes on to mentor a scale-up group: a person with two memberships.
    assert any(n == 2 for n in Counter(m["member_id"] for m in members).values())


def test_minutes_attended_are_around_the_session_length(sample):
    duration = {s["session_id"]: int(s["duration_minutes"]) for s in sample["sessions"]}
    ratios = [int(a["minutes"]) / duration[a["session_id"]] for a in sample["attendance"]
              if a["status"] == "attended"]
    assert 0.9 <= sum(ratios) / len(ratios) <= 1.0
    assert sum(r < 0.8 for r in ratios) / len(ratios) < 0.2


def test_plain_groups_attend_steadily_and_rotate_hosts(sample):
    stories = set(story_groups(20).values())
    roster = roster_by_session(sample)
    came = attended_by_session(sample)
    for g in sample["groups"]:
        if g["group_id"] in stories:
            continue
        by_quarter = defaultdict(lambda: [0, 0])
        hosts = defaultdict(Counter)
        for s in sample["sessions"]:
            if s["group_id"] == g["group_id"]:
                q = quarter(session_date(s["session_id"]))
                by_quarter[q][0] += len(came[s["session_id"]])
                by_quarter[q][1] += len(roster[s["session_id"]])
                hosts[q][s["host_member_id"]] += 1
        for q, (attended, expected) in by_quarter.items():
            if sum(hosts[q].values()) < 4:
                continue  # too few sessions to judge, as the flags also say
            assert 0.6 <= attended / expected <= 0.95, (g["group_id"], q)
            assert max(hosts[q].values()) / sum(hosts[q].values()) <= 0.5, (g["group_id"], q)


# --- surveys -------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["small", "sample"])
def test_survey_answers_are_whole_numbers_inside_each_items_scale(which, request):
    data = request.getfixturevalue(which)
    instrument = load_instrument()
    answered = 0
    for r in data["survey_responses"]:
        assert any(r[i] for i in instrument.item_ids)
        for item in instrument.items:
            if r[item.item_id]:
                assert item.scale_min <= int(r[item.item_id]) <= item.scale_max
                answered += 1
        assert datetime.fromisoformat(r["submitted_at"]).utcoffset() is not None
        assert quarter(datetime.fromisoformat(r["submitted_at"]).date()) == r["survey_id"]
    cells = len(data["survey_responses"]) * len(instrument.item_ids)
    assert 0.9 < answered / cells < 1.0  # some items skipped, most answered


def test_surveys_reach_half_to_four_fifths_of_active_members(sample):
    came = attended_by_session(sample)
    active = defaultdict(set)
    sessions = Counter()
    for s in sample["sessions"]:
        key = (quarter(session_date(s["session_id"])), s["group_id"])
        active[key] |= came[s["session_id"]]
        sessions[key] += 1
    labelled = Counter((r["survey_id"], r["group_id"]) for r in sample["survey_responses"])
    blank = Counter(r["survey_id"] for r in sample["survey_responses"] if not r["group_id"])
    for (q, gid), n in labelled.items():
        if not gid:
            continue
        a = len(active[(q, gid)])
        assert n <= math.floor(0.8 * a), (q, gid)
        assert n + blank[q] >= math.ceil(0.5 * a), (q, gid)
    for q in blank:
        surveyed = [k for k in active if k[0] == q and labelled[k] > 0]
        total = sum(len(active[k]) for k in surveyed)
        responses = sum(1 for r in sample["survey_responses"] if r["survey_id"] == q)
        assert 0.5 <= responses / total <= 0.8, q
    assert 0.02 <= sum(blank.values()) / len(sample["survey_responses"]) <= 0.08


def test_items_of_a_construct_agree_with_each_other(sample):
    """Cronbach's alpha of every multi-item construct is in the usual 0.7-0.95 band."""
    instrument = load_instrument()
    for construct in ("belonging", "psychological_safety", "peer_support", "loneliness"):
        items = instrument.items_of(construct)
        rows = []
        for r in sample["survey_responses"]:
            if r["survey_id"] == "2026Q2" and all(r[i.item_id] for i in items):
                rows.append([int(r[i.item_id]) if not i.reverse_keyed
                             else i.scale_min + i.scale_max - int(r[i.item_id]) for i in items])

        def var(xs):
            mean = sum(xs) / len(xs)
            return sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)

        k = len(items)
        alpha = k / (k - 1) * (1 - sum(var(col) for col in zip(*rows, strict=True))
                               / var([sum(row) for row in rows]))
        assert 0.7 <= alpha <= 0.95, (construct, alpha)


def test_comments_are_few_and_plain_text(sample):
    comments = [r["comment"] for r in sample["survey_responses"] if r["comment"]]
    assert 0.05 <= len(comments) / len(sample["survey_responses"]) <= 0.2
    assert all("\n" not in c and "<" not in c for c in comments)


# --- planted stories -----------------------------------------------------------------------------

def test_story_groups_are_spread_over_the_groups():
    assert story_groups(20) == {
        "thriving": "g01", "declining_attendance": "g04", "single_host": "g08",
        "low_safety": "g11", "small_group": "g14", "newcomers_not_returning": "g18"}
    assert story_groups(3) == {"thriving": "g01", "declining_attendance": "g02",
                               "single_host": "g03"}
    assert len(set(story_groups(10000).values())) == 6


def test_the_sample_readme_describes_every_planted_story():
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    headings = [line for line in readme.splitlines() if line.startswith("### ")]
    assert [h.split()[1] for h in headings] == sorted(story_groups(20).values())


def test_declining_group_loses_most_of_its_attendance_and_former_regulars(sample):
    shares = session_shares(sample, "g04")
    assert sum(shares[-14:-10]) / 4 >= 0.75
    assert sum(shares[-4:]) / 4 <= 0.35
    withdrawn = [m for m, marks in history(sample, "g04").items()
                 if marks.endswith("...") and marks[:-3].count("X") >= 0.6 * len(marks[:-3])]
    assert len(withdrawn) >= 2


def test_single_host_group_is_hosted_by_one_member_in_its_last_three_quarters(sample):
    by_quarter = defaultdict(Counter)
    for s in sample["sessions"]:
        if s["group_id"] == "g08":
            by_quarter[quarter(session_date(s["session_id"]))][s["host_member_id"]] += 1
    for q in ("2026Q1", "2026Q2", "2026Q3"):
        host, hosted = by_quarter[q].most_common(1)[0]
        assert hosted / sum(by_quarter[q].values()) > 0.85, q
    assert by_quarter["2025Q4"].most_common(1)[0][1] / sum(by_quarter["2025Q4"].values()) < 0.5


def test_low_safety_group_answers_clearly_lower_in_the_last_two_quarters(sample):
    for q in ("2026Q2", "2026Q3"):
        score, n = mean_index(sample, "g11", q, "psychological_safety")
        assert score < 45 and n >= 6, (q, score, n)
    others = [mean_index(sample, g["group_id"], "2026Q3", "psychological_safety")[0]
              for g in sample["groups"] if g["group_id"] not in ("g11", "g14")]
    assert sum(others) / len(others) > 60


def test_thriving_group_attends_well_hosts_broadly_and_grows_in_belonging(sample):
    shares = session_shares(sample, "g01")
    assert sum(shares) / len(shares) >= 0.88
    assert all("..." not in marks for marks in history(sample, "g01").values())
    hosts = Counter(s["host_member_id"] for s in sample["sessions"] if s["group_id"] == "g01")
    assert len(hosts) >= 9 and max(hosts.values()) / sum(hosts.values()) < 0.2
    first = [mean_index(sample, "g01", q, "belonging")[0] for q in ("2025Q2", "2025Q3")]
    last = [mean_index(sample, "g01", q, "belonging")[0] for q in ("2026Q2", "2026Q3")]
    assert sum(last) / 2 > sum(first) / 2 + 5
    newcomers = [m for m in sample["members"] if m["group_id"] == "g01" and
                 m["joined_on"] > "2025-04-01"]
    marks = history(sample, "g01")
    assert len(newcomers) >= 3
    assert all(marks[m["member_id"]].count("X") >= 4 for m in newcomers)


def test_small_group_has_only_three_or_four_survey_responses_a_quarter(sample):
    counts = Counter(r["survey_id"] for r in sample["survey_responses"] if r["group_id"] == "g14")
    assert counts and set(counts.values()) <= {3, 4}


def test_newcomers_to_one_group_mostly_come_once_and_never_again(sample):
    marks = history(sample, "g18")
    started = next(g["started_on"] for g in sample["groups"] if g["group_id"] == "g18")
    newcomers = [m["member_id"] for m in sample["members"]
                 if m["group_id"] == "g18" and m["joined_on"] > started]
    once = [m for m in newcomers if marks[m].count("X") == 1]
    assert len(once) >= 3 and len(once) >= 0.6 * len(newcomers)


# --- arguments and the command -------------------------------------------------------------------

def test_too_few_members_for_the_groups_is_refused_with_the_fix(tmp_path):
    with pytest.raises(HearthError, match="at least 80"):
        synthesize(tmp_path, members=50, groups=10, quarters=4, seed=1)
    assert not any(tmp_path.iterdir())


def test_the_command_writes_the_files_and_reports_rows(tmp_path, capsys):
    out = tmp_path / "community"
    assert main(["synth", "--out", str(out), "--members", "60", "--groups", "6",
                 "--quarters", "3", "--seed", "5"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in printed] == [str(out / name) for name in FILES]
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_the_command_refuses_bad_arguments_in_one_line(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path), "--groups", "0"]) == 2
    assert capsys.readouterr().err.strip() == "hearth: --groups must be at least 1"
