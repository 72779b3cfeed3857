"""The flag calibration harness (benchmarks/flags.py) at CI size: one null program and one
strong-story program of 10 groups. `make bench` runs it at full size; the table is in
docs/metrics.md."""

from __future__ import annotations

import pytest

from benchmarks.flags import STORY_FLAG, calibrate, format_tables
from metrics.definitions import FLAG_RULES

# two synthetic programs generated, ingested and refreshed: CI runs these after make test
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tally(tmp_path_factory):
    return calibrate(10, seeds=1, story_seeds=1, workdir=tmp_path_factory.mktemp("calibration"),
                     strengths={"strong": 1.0})


def test_every_strong_story_raises_its_flag(tally):
    assert {story: tally.found[(story, "strong")] for story in STORY_FLAG} == \
        {story: 1 for story in STORY_FLAG}


def test_ordinary_groups_raise_at_most_one_chance_flag_per_100_group_quarters(tally):
    # a null program and the ordinary groups of a story program: about 80 group-quarters
    assert tally.group_quarters >= 60
    assert tally.chance_per_100() <= 1.0 + 100 / tally.group_quarters  # one flag of slack
    assert set(tally.chance) <= {rule.flag for rule in FLAG_RULES}


def test_the_harness_prints_both_tables(tally):
    text = format_tables([tally], {"strong": 1.0})
    assert "| **all flags** |" in text
    assert "| small_group (`shrinking`) | strong (1.0) | 1/1 |" in text
