"""The dashboard's query layer: read-only snapshot, cache keys, and display helpers."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from dashboard import queries
from hearth.warehouse import published_path


def test_the_query_layer_reads_only_the_published_copy_and_cannot_write(sample_warehouse):
    snap = queries.snapshot(sample_warehouse)
    assert snap.path == str(published_path(sample_warehouse).resolve())
    with queries.cursor(snap) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("CREATE TABLE marts.scratch (a INTEGER)")


def test_nothing_published_means_no_snapshot_and_an_empty_dashboard(tmp_path):
    assert queries.snapshot(tmp_path / "hearth.duckdb") is None
    assert queries.is_empty(None)


def test_a_writer_holding_the_warehouse_does_not_stop_the_dashboard(sample_warehouse):
    # The writer's file is locked by its own connection; the dashboard reads another file.
    writer = duckdb.connect(str(sample_warehouse))
    try:
        snap = queries.snapshot(sample_warehouse)
        assert queries.quarters(snap)
    finally:
        writer.close()


def test_groups_sharing_a_name_are_told_apart():
    pairs = pd.DataFrame({"group_id": ["g1", "g2", "g3"],
                          "group_name": ["Circle", "Circle", "Porch"]})
    assert queries.display_names(pairs) == {
        "g1": "Circle (g1)", "g2": "Circle (g2)", "g3": "Porch"}


def test_flag_evidence_reads_as_plain_words():
    assert queries.evidence_text('{"value": 0.4615, "signals": ["stopped_coming"], "n": 12}') \
        == "value: 0.462; signals: stopped coming; n: 12"
    assert queries.evidence_text('{"baseline returned": 19720.0, "baseline": 0.987}') \
        == "baseline returned: 19,720; baseline: 0.987"
    assert queries.evidence_text(None) == ""
    assert queries.evidence_text("not json") == "not json"


def test_group_filters_select_on_the_groups_dimensions(sample_warehouse):
    snap = queries.snapshot(sample_warehouse)
    frame = queries.groups(snap)
    language = frame["language"].iloc[0]
    chosen = queries.selected_group_ids(snap, queries.Filters(language=(language,)))
    assert sorted(chosen) == sorted(frame.loc[frame["language"] == language, "group_id"])
    assert queries.selected_group_ids(snap, queries.Filters(quarter="2025Q3")) is None


def test_a_selection_pools_exactly_the_responses_of_its_shown_groups(sample_warehouse,
                                                                      sample_hearth_config):
    from metrics import api
    from metrics.anonymity import slice_groups

    k = sample_hearth_config.min_responses
    snap = queries.snapshot(sample_warehouse)
    quarter = queries.default_quarter(snap)
    # the answers themselves are in the warehouse only, never in a published snapshot
    with duckdb.connect(str(sample_warehouse), read_only=True) as warehouse:
        scores = warehouse.execute("SELECT group_id, construct, score FROM marts.survey_scores "
                                   "WHERE quarter = ?", [quarter]).df()
    with queries.cursor(snap) as con:
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                               "'survey_scores'").fetchone()[0]
        every = [g for (g,) in con.execute("SELECT group_id FROM marts.groups").fetchall()]
        modality = con.execute("SELECT mode(modality) FROM marts.groups").fetchone()[0]
        chosen = [g for (g,) in con.execute(
            "SELECT group_id FROM marts.groups WHERE modality = ?", [modality]).fetchall()]
        pooled = api.slice_indicators(con, quarter, sample_hearth_config, chosen)
    belonging = scores[scores["construct"] == "belonging"]
    per_group = belonging.dropna(subset=["group_id"]).groupby("group_id").size() \
        .reindex(every, fill_value=0)
    decision = slice_groups(per_group, chosen, k=k,
                            other_n=int(belonging["group_id"].isna().sum()))
    expected = belonging[belonging["group_id"].isin(decision.groups)]
    if decision.allowed:
        assert pooled["belonging"]["n"] == len(expected)
        assert pooled["belonging"]["value"] == pytest.approx(expected["score"].mean())
    else:
        assert pooled["belonging"]["status"] == "suppressed"
        assert pooled["belonging"]["value"] is None


def test_group_names_sort_naturally():
    names = ["Circle 10", "circle 2", "Circle 1", "Beacon", "Circle 2b"]
    assert sorted(names, key=queries.natural_key) == [
        "Beacon", "Circle 1", "circle 2", "Circle 2b", "Circle 10"]


def test_groups_come_in_the_same_natural_order_from_duckdb_as_natural_key_gives():
    from metrics import api

    names = ["Circle 10", "circle 2", "Circle 1", "Beacon", "Circle 2b", None, "Circle",
             "Circle 02", "2 Porch", "Porch 7 b 3", "Porch 7 b 12", "Ünter 1", "Circle 2",
             "Circle 99999999999999999999999999999999999999999", "Circle 1000"]
    ids = [f"g{i}" for i in (5, 12, 3, 1, 2, 8, 20, 7, 11, 4, 9, 10, 6, 13, 14)]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.groups AS SELECT * FROM (SELECT unnest(?::VARCHAR[]) AS "
                "group_id, unnest(?::VARCHAR[]) AS name)", [ids, names])
    ordered = api.groups_by_name(con)
    expected = sorted(zip(names, ids, strict=True),
                      key=lambda pair: (queries.natural_key(pair[0]), queries.natural_key(pair[1])))
    assert list(ordered["group_id"]) == [g for _, g in expected]
    assert api.has_groups(con)
    con.execute("DELETE FROM marts.groups")
    assert not api.has_groups(con)


def test_a_selection_is_released_set_based_exactly_as_the_rule_decides_it(
        sample_warehouse, sample_hearth_config):
    """metrics.release.selection_release (DuckDB sums) against the rule applied to every
    released group's statistics in a frame (selection_decisions, pooled_selection)."""
    from metrics import api
    from metrics.definitions import SURVEY_KEYS
    from metrics.release import pooled_selection, selection_decisions, selection_release

    k = sample_hearth_config.min_responses
    snap = queries.snapshot(sample_warehouse)
    with queries.cursor(snap) as con:
        wanted = api.quarters(con)
        units = con.execute("SELECT quarter, group_id, indicator, n, sum_score, sum_sq, hits "
                            "FROM marts.survey_units").df()
        program_n = {(q, i): int(n) for q, i, n in con.execute(
            "SELECT quarter, indicator, n FROM marts.indicators WHERE group_id IS NULL "
            "AND n IS NOT NULL AND indicator IN (SELECT unnest(?::VARCHAR[]))",
            [list(SURVEY_KEYS)]).fetchall()}
        every = list(queries.groups(snap)["group_id"])
        for chosen in (every, every[::2], every[1::3], every[:1], []):
            released = selection_release(con, wanted, chosen, k)
            decisions = selection_decisions(units, program_n, chosen, k)
            pooled = pooled_selection(units, decisions).set_index(["quarter", "indicator"])
            assert {key: d for key, (d, _) in released.items()} == decisions
            for key, (decision, figure) in released.items():
                assert (figure is not None) == decision.allowed
                if figure is not None:
                    row = pooled.loc[key]
                    assert figure["n"] == row["n"]
                    for column in ("value", "ci_low", "ci_high"):
                        assert figure[column] == pytest.approx(row[column], rel=1e-12)


def test_attention_puts_flagged_then_outside_limit_groups_first(sample_warehouse):
    snap = queries.snapshot(sample_warehouse)
    quarter = queries.default_quarter(snap)
    ranked = queries.attention(snap, quarter)
    assert len(ranked) == len(queries.groups(snap))
    tiers = list(ranked["concern"])
    assert tiers == sorted(tiers, reverse=True)
    flagged = ranked[ranked["flags"] > 0]
    assert not flagged.empty and list(flagged.index) == list(range(len(flagged)))
    assert all(w.startswith("flagged: ") for w in flagged["why"])


@pytest.mark.parametrize("dimension", ["coach", "modality", "cohort"])
def test_each_rollup_row_is_the_selection_of_its_groups(sample_warehouse, sample_hearth_config,
                                                        dimension):
    from metrics import api

    with duckdb.connect(str(published_path(sample_warehouse)), read_only=True) as con:
        quarter = api.latest_quarter(con)
        rolled = api.rollup(con, quarter, sample_hearth_config, dimension)
        assert rolled["groups"].groupby(rolled["category"]).first().sum() == \
            len(api.groups(con))
        for category, part in rolled.groupby("category"):
            selection = api.slice_indicators(con, quarter, sample_hearth_config,
                                             part["group_ids"].iat[0])
            for row in part.itertuples():
                expected = selection[row.indicator]
                assert row.status == expected["status"], (category, row.indicator)
                assert (pd.isna(row.value) and expected["value"] is None) or \
                    row.value == pytest.approx(expected["value"]), (category, row.indicator)


def test_a_selections_funnel_points_and_ranking_are_the_programs_rows_of_its_groups(
        sample_warehouse):
    """funnel_points / shrunken keep the selection in the query: the same rows, dtypes and
    order as the whole program's frame filtered to the selected groups."""
    from metrics import api

    snap = queries.snapshot(sample_warehouse)
    ids = queries.groups_in_name_order(snap)
    selections = [tuple(ids[::2]), (ids[0],), ()]
    with queries.cursor(snap) as con:
        for quarter in queries.quarters(snap):
            for indicator in queries.comparable_indicators(snap, quarter):
                for read, order in ((api.funnel, "n"), (api.shrunken, "rank")):
                    whole = read(con, quarter, indicator)
                    for chosen in selections:
                        kept = whole[whole["group_id"].isin(chosen)]
                        got = read(con, quarter, indicator, list(chosen))
                        key = [order, "group_id"]  # (ties in n come in any order)
                        pd.testing.assert_frame_equal(
                            got.sort_values(key, ignore_index=True),
                            kept.sort_values(key, ignore_index=True))


@pytest.mark.parametrize("sql", [
    "SELECT * FROM (VALUES ('a', DATE '2025-01-02', TIMESTAMP '2025-01-02 03:04:05', "
    "TIMESTAMPTZ '2025-01-02 03:04:05+00', 1::INTEGER, 1::INTEGER, 2::BIGINT, 2.5, "
    "0.25::DOUBLE, true, true, [1, 2]), "
    "(NULL, NULL, NULL, NULL, 3, NULL, NULL, NULL, NULL, false, NULL, NULL)) "
    "t(name, started_on, seen_at, seen_tz, size, size_or_null, n, share, rate, kept, "
    "kept_or_null, items)",
    # no list column (read through Arrow whole); no rows; a repeated name
    "SELECT * FROM (VALUES ('a', 1.5::DECIMAL(4, 2), NULL::INTEGER), (NULL, NULL, 2)) "
    "t(name, share, size_or_null)",
    "SELECT 'a' AS name, 1 AS size, DATE '2025-01-02' AS started_on, 1.5 AS share WHERE false",
    "SELECT 1 AS n, 'x' AS n",
])
def test_frames_read_through_arrow_have_the_dtypes_duckdb_gives(sql):
    """The refresh and the read layer read frames through one reader (metrics.frames), which
    gives .df()'s dtypes, except that a text column stays text when it holds no value."""
    from metrics.frames import query_frame

    con = duckdb.connect()
    con.execute("SELECT 1 UNION ALL SELECT 2").fetchone()  # an open result before the read
    expected = con.execute(sql).df()
    got = query_frame(con, sql)
    if not len(expected):  # no rows: text stays text
        expected = expected.astype({c: "str" for c in got.columns[got.dtypes == "str"]})
    pd.testing.assert_frame_equal(got, expected)


def test_a_selection_of_groups_is_one_cache_key_per_distinct_tuple():
    """Cached reads hash a tuple of strings as one string (queries.HASH_FUNCS): distinct
    selections still get distinct entries, and the same selection the same one."""
    import streamlit as st

    calls = []

    @st.cache_data(show_spinner=False, hash_funcs=queries.HASH_FUNCS)
    def read(group_ids, filters=None):
        calls.append(group_ids)
        return len(calls)

    ids = tuple(f"g{i}" for i in range(2000))
    assert read(ids) == read(tuple(list(ids))) == 1
    assert read(ids[:-1]) == 2
    assert read((*ids[:-1], "x")) == 3
    assert read(("1", "a")) == 4 and read((1, "a")) == 5  # the same repr items, other types
    assert read(None, queries.Filters(modality=("video",))) == 6
    assert read(None, queries.Filters(modality=("audio",))) == 7
    read.clear()
