"""Page tables (metrics.pagedata): what a snapshot precomputes at publish is exactly what the
read layer computes from that snapshot, for every audience, quarter and selection tried; the
privacy check notices a page table that is not.

The sample runs in `make test`; the 200-group program is marked slow (CI runs it)."""

from __future__ import annotations

import random
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from pandas.testing import assert_frame_equal

from hearth.config import Config
from hearth.warehouse import AUDIENCES, PAGE_TABLES, published_path
from metrics import api, going_well, pagedata
from tests.conftest import sample_config


def _natural_groups(con):
    return con.execute(f"SELECT * FROM marts.groups ORDER BY {api._natural_sql('name')}, "
                       f"{api._natural_sql('group_id')}").df()


@contextmanager
def _unseen(con, table):
    """A block in which the read layer does not see ``table`` in the snapshot (so it computes
    what the table holds)."""
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    token = api.KNOWN_TABLES.set(frozenset(present - {table}))
    try:
        yield
    finally:
        api.KNOWN_TABLES.reset(token)


def _old_carried(con, before, quarter):
    """followup.carry_over's flags read from both quarters' flags() frames: the flags raised
    before (a "resolved" row is not raised), each with whether it is raised in `quarter`."""
    now = api.flags(con, quarter)
    now = now[now["state"] != "resolved"]
    still = set(zip(now["group_id"], now["flag"], strict=True))
    return [(r["group_id"], r["flag"], (r["group_id"], r["flag"]) in still)
            for r in api.flags(con, before).to_dict("records") if r["state"] != "resolved"]


def assert_page_tables_as_computed(db: Path, config: Config, selections: int = 3) -> None:
    """Every reader that has a page table gives what its computed twin gives."""
    for audience in AUDIENCES:
        with duckdb.connect(str(published_path(db, audience)), read_only=True) as con:
            present = {f"{s}.{t}" for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() "
                "WHERE schema_name = 'pages'").fetchall()}
            assert present == set(PAGE_TABLES), audience
            quarters = api.quarters(con)
            assert quarters and quarters == api.quarters_computed(con)
            assert_frame_equal(api.groups_by_name(con), _natural_groups(con))
            assert_frame_equal(api.program_indicators(con), con.execute(
                "SELECT * FROM marts.indicators WHERE group_id IS NULL "
                "ORDER BY indicator, quarter").df())
            ids = api.groups(con)["group_id"].tolist()
            pick = random.Random(8)
            chosen = [None, ids[: max(1, len(ids) // 3)],
                      *[sorted(pick.sample(ids, pick.randint(1, len(ids))))
                        for _ in range(selections)]]
            for quarter in quarters:
                assert_frame_equal(api.group_medians(con, quarter),
                                   api.group_medians_computed(con, quarter))
                for group_ids in chosen:
                    assert_frame_equal(api.attention(con, quarter, group_ids),
                                       api.attention_computed(con, quarter, group_ids))
                    assert going_well.going_well(con, quarter, config, group_ids) == \
                        going_well.going_well_computed(con, quarter, config, group_ids)
                for dimension in pagedata.DIMENSIONS:
                    assert_frame_equal(api.rollup(con, quarter, config, dimension),
                                       api.rollup_computed(con, quarter, config, dimension))
                # a selection's sums: read from pages.group_counts, and computed
                for group_ids in chosen[1:]:
                    read = api.rollup(con, quarter, config, "coach", group_ids)
                    with _unseen(con, "pages.group_counts"):
                        assert_frame_equal(read, api.rollup(con, quarter, config, "coach",
                                                            group_ids))
            for group_ids in chosen[1:]:
                read = api.slice_indicators_over(con, quarters, config, group_ids)
                with _unseen(con, "pages.group_counts"):
                    # (repr: a missing figure is NaN, and NaN != NaN)
                    assert repr(read) == repr(api.slice_indicators_over(con, quarters, config,
                                                                        group_ids))
            for before, quarter in zip(quarters, quarters[1:], strict=False):
                assert api.flags_carried(con, before, quarter) == \
                    _old_carried(con, before, quarter)
            assert pagedata.differences(con, config) == []


def test_the_sample_pages_read_exactly_what_they_computed(sample_warehouse):
    assert_page_tables_as_computed(sample_warehouse, sample_config(), selections=6)


@pytest.mark.slow
def test_a_200_group_program_pages_read_exactly_what_they_computed(synthetic_program):
    assert_page_tables_as_computed(synthetic_program(200), Config(), selections=4)


def test_a_page_table_built_under_another_k_is_not_read(sample_warehouse, tmp_path):
    copy = tmp_path / "snapshot.duckdb"
    shutil.copy2(published_path(sample_warehouse, "lead"), copy)
    config = sample_config()
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE pages.built SET k = k + 1")
        assert not api.page_table(con, "rollup", config)
        quarter = api.quarters(con)[-1]
        con.execute("UPDATE pages.rollup SET value = 12345.0")
        con.execute("DELETE FROM pages.going_well")
        assert 12345.0 not in set(api.rollup(con, quarter, config, "coach")["value"])
        assert going_well.going_well(con, quarter, config) == \
            going_well.going_well_computed(con, quarter, config)


def test_the_privacy_check_names_a_page_table_that_differs(sample_warehouse, tmp_path,
                                                           capsys):
    """A roll-up figure changed in the council's snapshot (a survey figure no one released)
    fails `hearth privacy-check`."""
    from hearth.cli import main

    for path in sample_warehouse.parent.iterdir():
        if path.is_file():
            shutil.copy2(path, tmp_path / path.name)
    db = tmp_path / sample_warehouse.name
    with duckdb.connect(str(published_path(db, "council"))) as con:
        survey = con.execute("SELECT count(*) FROM pages.rollup WHERE indicator = 'belonging' "
                             "AND value IS NOT NULL").fetchone()[0]
        assert survey  # the sample's roll-ups show belonging somewhere
        con.execute("UPDATE pages.rollup SET value = value + 1 "
                    "WHERE indicator = 'belonging' AND value IS NOT NULL")
    assert main(["--db", str(db), "privacy-check", "--audience", "council"]) == 1
    assert "pages.rollup" in capsys.readouterr().out

