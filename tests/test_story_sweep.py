"""The scenario harness (tests/story_sweep.py): random communities with stories planted at random
groups, read back through `hearth review --json`, `hearth flags --json` and
`hearth watchlist --json` in process.

`make test` runs two fixed communities (the short form); the long sweep (the 20 communities of
docs/metrics.md's power table, 12 to 108 groups) runs behind the `slow` marker and pins it.
"""

from __future__ import annotations

import pytest

from metrics.definitions import CHANCE_FLAGS_PER_100, FLAG_RULE
from tests.story_sweep import (
    GOOD_STORIES,
    KINDS,
    STORY_FLAGS,
    SURVEY_STORIES,
    Table,
    draw_settings,
    sweep,
)

# Two communities of 36-45 groups whose draws plant every kind of story between them.
FAST_SEEDS = (3, 12)
# The long sweep (docs/metrics.md's table): its seeds and sizes. Planting in communities of
# several hundred groups takes minutes each (the planters edit the files as lists), so the
# sweep stays at the table's 10-120.
SLOW_SEEDS = tuple(range(1, 21))
SLOW_SIZES = (10, 120)
# The least share of each kind of story the sweep finds. A survey story in a group of 8-12
# answers 5-9 times a quarter, and a hidden last quarter leaves nothing to compare with: the
# table found 33-57% of them, and says so; the rest are found 85-100% of the time.
LEAST_POWER = {kind: 0.25 if kind in SURVEY_STORIES else 0.8 for kind in KINDS}


@pytest.fixture(scope="module")
def communities(story_community):
    return [story_community(draw_settings(seed, max_groups=45, min_groups=36))
            for seed in FAST_SEEDS]


@pytest.fixture(scope="module")
def table(communities) -> Table:
    t = Table()
    for c in communities:
        t.add(c)
    return t


def test_the_fast_communities_plant_every_kind_of_story(communities):
    planted = {s.kind for c in communities for s in c.stories}
    assert planted == set(KINDS)


def test_every_strong_story_is_found(communities):
    missed = [(c.settings.seed, o.story.description, o.detail)
              for c in communities for o in c.outcomes
              if o.story.effect == 1.0 and not o.story.hidden and not o.found]
    assert not missed


def test_every_flag_found_gives_its_reason_with_figures(communities):
    vague = [(o.story.kind, o.reason) for c in communities for o in c.outcomes
             if o.found and not o.cites_figures]
    assert not vague


def test_a_story_in_a_group_under_k_is_not_told(communities):
    # a survey story where the figure is hidden: no flag (it would give the figure away); the
    # review says the figure is hidden instead
    for c in communities:
        for o in c.outcomes:
            assert not o.leaked, o.story
            if o.story.hidden:
                figure = c.review["groups"][o.story.group_id]["indicators"]
                assert all(figure[k]["value"] is None for k in figure
                           if figure[k]["status"] == "suppressed")


def test_groups_without_a_story_stay_near_the_calibrated_rate(table):
    assert table.judged >= 60
    # the calibrated chance rate, with one flag of slack at this size
    assert sum(table.chance.values()) <= CHANCE_FLAGS_PER_100 * table.judged / 100 + 1, \
        table.chance


def test_the_watchlist_names_only_members_of_the_group_it_lists(table):
    assert table.wrong_group_members == 0


def test_the_review_json_carries_each_flag_s_reason(communities):
    for c in communities:
        last = c.flags[c.review["quarter"]]
        for gid, group in c.review["groups"].items():
            raised = [f for f in last if f["group_id"] == gid and f["state"] != "resolved"]
            assert [(f["flag"], f["reason"]) for f in group["flag_reasons"]] == \
                [(f["flag"], f["reason"]) for f in raised]
            assert group["flags"] == [f["flag"] for f in group["flag_reasons"]]


def test_good_stories_raise_no_flag(communities):
    for c in communities:
        for o in c.outcomes:
            if o.story.kind in GOOD_STORIES:
                assert not o.detail, (o.story.description, o.detail)


def test_every_story_flag_is_a_defined_flag():
    assert set().union(*STORY_FLAGS.values()) <= set(FLAG_RULE)


@pytest.mark.slow
def test_the_long_sweep_finds_each_story_and_stays_quiet_elsewhere(tmp_path):
    table = sweep(SLOW_SEEDS, tmp_path, max_groups=SLOW_SIZES[1], min_groups=SLOW_SIZES[0])
    low = {kind: f"{table.found[kind]}/{table.planted[kind]}" for kind in KINDS
           if table.planted[kind] and table.power(kind) < LEAST_POWER[kind]}
    assert not low, table.markdown()
    assert sum(table.leaked.values()) == 0
    assert table.wrong_group_members == 0
    assert table.chance_per_100() <= 2 * CHANCE_FLAGS_PER_100, table.markdown()
