"""metrics.anonymity: the suppression rule, and a privacy suite that tries to break it.

The attacks are linear differencing - the only arithmetic a reader of published means and counts
can do: parent total minus visible units, slice minus slice, pooled minus shown.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from metrics.anonymity import (
    INSUFFICIENT_LABEL,
    POOLED_LABEL,
    SECONDARY_LABEL,
    SUPPRESSED_LABEL,
    SliceDecision,
    comments_visible,
    overlap_allowed,
    pool_quarters,
    public_indicator,
    slice_allowed,
    slice_groups,
    slice_of_shown_groups,
    suppress_small_cells,
    suppression_label,
    validate_k,
)

# ------------------------------------------------------------------ the threshold


def test_label_names_the_threshold():
    assert SUPPRESSED_LABEL(5) == "fewer than 5 responses"
    assert SUPPRESSED_LABEL(7) == "fewer than 7 responses"
    assert suppression_label("primary", 5) == "fewer than 5 responses"
    assert suppression_label("secondary", 5) == SECONDARY_LABEL
    assert suppression_label(None, 5) is None


@pytest.mark.parametrize("k", [2, 0, -5])
def test_k_below_three_is_refused(k):
    with pytest.raises(ValueError, match="never shows survey figures for fewer than 3"):
        validate_k(k)
    with pytest.raises(ValueError, match="below 3"):
        suppress_small_cells(pd.DataFrame({"n": [10], "value": [1.0]}), value_cols=("value",), k=k)


def test_k_of_three_or_more_is_accepted_and_must_be_whole():
    assert (validate_k(3), validate_k(5), validate_k(np.int64(8)), validate_k(6.0)) == (3, 5, 8, 6)
    with pytest.raises(ValueError, match="whole number"):
        validate_k(4.5)
    with pytest.raises(ValueError, match="whole number"):
        validate_k(True)


def test_comments_need_ten_responses():
    assert (comments_visible(9), comments_visible(10), comments_visible(None)) == (False, True, False)
    assert comments_visible(12, k_comments=15) is False
    with pytest.raises(ValueError):
        comments_visible(12, k_comments=2)


# ------------------------------------------------------------------ suppress_small_cells


def reasons(result: pd.DataFrame) -> list[str | None]:
    return [None if pd.isna(r) else r for r in result.suppression]


def program_quarter_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "quarter": ["2025Q1"] * 5 + ["2025Q2"] * 4,
            "group_id": [None, "a", "b", "c", "d", None, "a", "b", "c"],
            "n": [40, 3, 12, 7, 18, 33, 2, 2, 29],
            "value": [70.0, 55.0, 80.0, 65.0, 72.0, 71.0, 40.0, 90.0, 73.0],
            "ci_low": [65.0, 40.0, 70.0, 50.0, 64.0, 66.0, 20.0, 70.0, 68.0],
            "ci_high": [75.0, 70.0, 90.0, 80.0, 80.0, 76.0, 60.0, 99.0, 78.0],
        }
    )


def test_primary_then_secondary_suppression_within_each_parent():
    result = suppress_small_cells(program_quarter_frame(), parent_cols=("quarter",), unit_col="group_id")
    hidden = pd.NA
    expected = pd.DataFrame(
        {
            "quarter": ["2025Q1"] * 5 + ["2025Q2"] * 4,
            "group_id": [None, "a", "b", "c", "d", None, "a", "b", "c"],
            "n": pd.array([40, hidden, 12, hidden, 18, 33, hidden, hidden, hidden], dtype="Int64"),
            "value": [70.0, np.nan, 80.0, np.nan, 72.0, 71.0, np.nan, np.nan, np.nan],
            "ci_low": [65.0, np.nan, 70.0, np.nan, 64.0, 66.0, np.nan, np.nan, np.nan],
            "ci_high": [75.0, np.nan, 90.0, np.nan, 80.0, 76.0, np.nan, np.nan, np.nan],
            "status": ["ok", "suppressed", "ok", "suppressed", "ok",
                       "ok", "suppressed", "suppressed", "suppressed"],
            "suppression": [None, "primary", None, "secondary", None,
                            None, "primary", "primary", "secondary"],
        }
    )
    pd.testing.assert_frame_equal(result, expected)


def test_hidden_units_holding_k_together_need_no_secondary_suppression():
    frame = pd.DataFrame({"n": [2, 3, 9, 12], "value": [1.0, 2.0, 3.0, 4.0]})
    result = suppress_small_cells(frame, value_cols=("value",))
    assert reasons(result) == ["primary", "primary", None, None]


def test_units_with_no_responses_do_not_trigger_secondary_suppression():
    frame = pd.DataFrame({"n": [0, 9, 12], "value": [np.nan, 3.0, 4.0]})
    result = suppress_small_cells(frame, value_cols=("value",))
    assert list(result.status) == ["suppressed", "ok", "ok"]


def test_secondary_suppression_hides_the_smallest_visible_unit_first_row_on_ties():
    frame = pd.DataFrame({"n": [4, 9, 6, 6, 30], "value": [1.0, 2.0, 3.0, 4.0, 5.0]})
    result = suppress_small_cells(frame, value_cols=("value",))
    assert reasons(result) == ["primary", None, "secondary", None, None]


def test_missing_n_counts_as_no_responses_and_existing_status_is_kept():
    frame = pd.DataFrame(
        {"n": [None, 8, 20], "value": [1.0, np.nan, 3.0], "status": [None, "insufficient", None]}
    )
    result = suppress_small_cells(frame, value_cols=("value",))
    assert list(result.status) == ["suppressed", "insufficient", "ok"]


def test_extra_value_columns_are_blanked_too():
    frame = pd.DataFrame(
        {"n": [3, 2, 20], "value": [1.0, 1.5, 2.0], "delta": [0.5, 0.2, 0.1],
         "verdict": ["up", "down", "no clear change"]}
    )
    result = suppress_small_cells(frame, value_cols=("value", "delta", "verdict"))
    assert result.iloc[0][["value", "delta", "verdict"]].isna().all()
    assert result.iloc[2]["verdict"] == "no clear change"


def test_missing_columns_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"\['ci_low', 'ci_high'\]"):
        suppress_small_cells(pd.DataFrame({"n": [5], "value": [1.0]}))


def test_suppressing_twice_changes_nothing():
    once = suppress_small_cells(program_quarter_frame(), parent_cols=("quarter",), unit_col="group_id")
    twice = suppress_small_cells(once, parent_cols=("quarter",), unit_col="group_id")
    pd.testing.assert_frame_equal(twice, once)


def test_input_frame_is_not_modified():
    frame = program_quarter_frame()
    before = frame.copy()
    suppress_small_cells(frame, parent_cols=("quarter",), unit_col="group_id")
    pd.testing.assert_frame_equal(frame, before)


# ------------------------------------------------------------------ differencing attacks


def random_parent(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Groups of one parent with responses drawn to include many small groups."""
    groups = int(rng.integers(1, 13))
    sizes = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 12], size=groups)
    answers = {f"g{i}": rng.integers(1, 6, size) .astype(float) for i, size in enumerate(sizes)}
    frame = pd.DataFrame(
        {
            "group_id": list(answers),
            "n": [len(a) for a in answers.values()],
            "value": [a.mean() if len(a) else np.nan for a in answers.values()],
        }
    )
    return frame, answers


def recoverable_sets(published: pd.DataFrame, answers: dict[str, np.ndarray]) -> list[tuple[set, int]]:
    """What parent-total-minus-visible reveals: the set of hidden groups and their responses."""
    hidden = set(published.loc[published.status.eq("suppressed"), "group_id"])
    held = sum(len(answers[g]) for g in hidden)
    return [(hidden, held)] if held else []


@pytest.mark.slow  # 1,200 random parents: CI runs it after make test
@pytest.mark.parametrize("k", [3, 5, 7])
def test_parent_total_minus_visible_groups_never_isolates_fewer_than_k_responses(k):
    for seed in range(400):
        frame, answers = random_parent(np.random.default_rng(seed))
        published = suppress_small_cells(frame, value_cols=("value",), k=k)
        total_sum = sum(a.sum() for a in answers.values())
        total_n = sum(len(a) for a in answers.values())
        if total_n < k:
            continue  # the parent's own total is then suppressed: there is nothing to subtract from
        visible = published[published.status.eq("ok")]
        # the attacker's arithmetic: the parent total and every published n and mean are known
        rest_n = total_n - int(visible.n.sum())
        rest_sum = total_sum - float((visible.n.astype(float) * visible.value).sum())
        assert rest_n == 0 or rest_n >= k, f"seed {seed}: {rest_n} responses isolated"
        for hidden, held in recoverable_sets(published, answers):
            assert held == rest_n and rest_sum == pytest.approx(sum(answers[g].sum() for g in hidden))
            small = [g for g in hidden if 0 < len(answers[g]) < k]
            # a small group is only ever hidden together with others holding k or more
            if small:
                assert held >= k and len([g for g in hidden if len(answers[g])]) >= 2


def test_the_differencing_attack_works_without_secondary_suppression():
    """The suite can fail: primary suppression alone leaks one small group's exact mean."""
    answers = {"small": np.array([1.0, 2.0]), "b": np.full(8, 4.0), "c": np.full(10, 5.0)}
    total_sum, total_n = sum(a.sum() for a in answers.values()), 20
    primary_only = {g: a for g, a in answers.items() if len(a) >= 5}
    leaked = (total_sum - sum(a.sum() for a in primary_only.values())) / (
        total_n - sum(len(a) for a in primary_only.values())
    )
    assert leaked == answers["small"].mean()
    frame = pd.DataFrame({"group_id": list(answers), "n": [2, 8, 10], "value": [1.5, 4.0, 5.0]})
    published = suppress_small_cells(frame, value_cols=("value",))
    assert list(published.status) == ["suppressed", "suppressed", "ok"]


def test_many_parents_are_protected_independently_and_vectorised():
    rng = np.random.default_rng(11)
    frames, all_answers = [], {}
    for quarter in range(40):
        frame, answers = random_parent(rng)
        frame["quarter"] = f"q{quarter}"
        frame["group_id"] = frame.group_id + f"-{quarter}"
        frames.append(frame)
        all_answers.update({f"{g}-{quarter}": a for g, a in answers.items()})
    published = suppress_small_cells(pd.concat(frames, ignore_index=True), value_cols=("value",),
                                      parent_cols=("quarter",))
    for _, part in published.groupby("quarter"):
        total_n = sum(len(all_answers[g]) for g in part.group_id)
        hidden_n = sum(len(all_answers[g]) for g in part.loc[part.status.eq("suppressed"), "group_id"])
        assert hidden_n == 0 or hidden_n >= 5 or hidden_n == total_n < 5


def test_filtered_slice_must_leave_k_responses_outside():
    assert slice_allowed(20, 100) is True
    assert slice_allowed(4, 100) is False  # too small itself
    assert slice_allowed(97, 100) is False  # total minus slice would reveal 3 people
    assert slice_allowed(100, 100) is True  # nothing outside, nothing revealed
    assert slice_allowed(95, 100) is True
    assert slice_allowed(6, 9, k=3) is True
    with pytest.raises(ValueError, match="cannot come from a total"):
        slice_allowed(12, 10)


def test_two_overlapping_filters_whose_difference_isolates_fewer_than_k_are_refused():
    # "video groups" holds 20 responses, "video groups in English" 17 of them: 3 people apart
    assert overlap_allowed(20, 17, 17) is False
    assert overlap_allowed(20, 15, 15) is True
    assert overlap_allowed(20, 20, 20) is True
    assert overlap_allowed(20, 18, 10) is True
    assert overlap_allowed(20, 12, 9) is False  # 3 of the second slice lie outside the first
    with pytest.raises(ValueError, match="cannot exceed"):
        overlap_allowed(5, 6, 7)


def random_program(rng: np.random.Generator) -> tuple[pd.Series, pd.DataFrame]:
    groups = int(rng.integers(2, 16))
    names = [f"g{i:02d}" for i in range(groups)]
    n = pd.Series(rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 11], size=groups), index=names)
    attributes = pd.DataFrame(
        {
            "modality": rng.choice(["video", "audio", "text"], size=groups),
            "language": rng.choice(["en", "es"], size=groups),
            "tz_band": rng.choice(["americas", "europe"], size=groups),
        },
        index=names,
    )
    return n, attributes


def random_filter(rng: np.random.Generator, attributes: pd.DataFrame) -> list[str]:
    mask = np.ones(len(attributes), dtype=bool)
    for column in attributes.columns:
        if rng.random() < 0.5:
            mask &= (attributes[column] == rng.choice(attributes[column].unique())).to_numpy()
    return list(attributes.index[mask])


@pytest.mark.slow  # 150 random programs, 6 filters each: CI runs it after make test
def test_slices_built_by_slice_groups_never_differ_by_fewer_than_k_responses():
    naive_leaks = 0
    for seed in range(150):
        rng = np.random.default_rng(seed)
        n, attributes = random_program(rng)
        decisions = []
        for _ in range(6):
            chosen = random_filter(rng, attributes)
            decision = slice_groups(n, chosen)
            assert decision.allowed == slice_allowed(decision.n, int(n.sum()))
            naive = int(n[chosen].sum())
            decisions.append((set(chosen), decision, naive))
        for (set_a, a, naive_a), (set_b, b, naive_b) in zip(decisions, decisions[1:], strict=False):
            if a.allowed and b.allowed:
                only_a, only_b = set(a.groups) - set(b.groups), set(b.groups) - set(a.groups)
                for part in (only_a, only_b):
                    held = int(n[list(part)].sum())
                    assert held == 0 or held >= 5, f"seed {seed}: {held} responses isolated"
            naive_diff = int(n[list(set_a - set_b)].sum())
            if slice_allowed(naive_a, int(n.sum())) and slice_allowed(naive_b, int(n.sum())):
                naive_leaks += 0 < naive_diff < 5
    # pooling every selected group (including hidden ones) would have leaked in these cases
    assert naive_leaks > 0


def test_slice_groups_leaves_out_hidden_groups_and_explains_refusals():
    counts = {"a": 3, "b": 12, "c": 7, "d": 18}
    assert slice_groups(counts, ["a", "b"]) == SliceDecision(("b",), 12, 1, True, None)
    assert slice_groups(counts, ["a", "c"]) == SliceDecision(
        (), 0, 2, False, "fewer than 5 responses in this selection"
    )
    # three responses naming no known group are a hidden unit: a (the smaller group) is
    # hidden too, so "program minus a and b" cannot give those three back
    assert slice_groups({"a": 10, "b": 12}, ["a", "b"], other_n=3) == SliceDecision(
        ("b",), 12, 1, True, None)
    refused = slice_of_shown_groups({"a": 10, "b": 12}, ["a", "b"], total_n=25)
    assert refused.allowed is False and "outside" in refused.reason
    with pytest.raises(ValueError, match="no response count"):
        slice_groups(counts, ["zz"])


# ------------------------------------------------------------------ single figures and JSON


def test_public_indicator_ok_suppressed_and_insufficient():
    assert public_indicator(72.5, 12, 65.0, 80.0) == {
        "value": 72.5, "n": 12, "ci_low": 65.0, "ci_high": 80.0,
        "status": "ok", "label": None, "pooled": False,
    }
    assert public_indicator(72.5, 4, 65.0, 80.0) == {
        "value": None, "n": None, "ci_low": None, "ci_high": None,
        "status": "suppressed", "label": "fewer than 5 responses", "pooled": False,
    }
    assert public_indicator(72.5, 9, 65.0, 80.0, hidden=True)["label"] == SECONDARY_LABEL
    assert public_indicator(float("nan"), 9, float("nan"), float("nan")) == {
        "value": None, "n": 9, "ci_low": None, "ci_high": None,
        "status": "insufficient", "label": INSUFFICIENT_LABEL, "pooled": False,
    }
    assert public_indicator(60.0, 6, 50.0, 70.0, enough_data=False)["status"] == "insufficient"
    assert public_indicator(60.0, 6, 50.0, 70.0, pooled=True)["label"] == POOLED_LABEL
    assert public_indicator(60.0, 6, 50.0, 70.0, k=7)["status"] == "suppressed"


def test_suppressed_records_serialised_to_json_carry_no_value_interval_or_exact_n():
    secret_value, secret_low, secret_high = 61.2345, 48.7654, 73.9876
    records = [
        public_indicator(secret_value, 4, secret_low, secret_high),
        public_indicator(secret_value, 8, secret_low, secret_high, hidden=True),
    ]
    table = suppress_small_cells(
        pd.DataFrame({"group_id": ["x", "y", "z"], "n": [4, 8, 30],
                      "value": [secret_value, secret_value, 1.0],
                      "ci_low": [secret_low, secret_low, 0.5],
                      "ci_high": [secret_high, secret_high, 1.5]})
    )
    records += json.loads(table.iloc[:2].to_json(orient="records"))
    text = json.dumps(records, allow_nan=False)
    for secret in ("61.2345", "48.7654", "73.9876", ": 4,", ": 8,"):
        assert secret not in text
    for record in records:
        assert {record[key] for key in ("value", "n", "ci_low", "ci_high")} == {None}
        assert record["status"] == "suppressed"


def test_public_indicator_is_json_safe_without_nan():
    text = json.dumps(public_indicator(70.0, 10, float("nan"), float("nan")), allow_nan=False)
    assert json.loads(text)["ci_low"] is None


# ------------------------------------------------------------------ pooling


def quarterly_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group_id": ["a", "a", "b", "b", "c", "c", "d", "d", "e"],
            "quarter": ["2025Q1", "2025Q2", "2025Q1", "2025Q2", "2025Q2", "2025Q3",
                        "2025Q3", "2025Q4", "2025Q4"],
            "n": [3, 2, 6, 2, 3, 4, 1, 2, 4],
            "score_sum": [9.0, 8.0, 20.0, 7.0, 10.0, 12.0, 4.0, 6.0, 13.0],
        }
    )


def test_pool_quarters_pools_fixed_pairs_where_neither_quarter_was_shown():
    result = pool_quarters(quarterly_counts(), sum_cols=("score_sum",))
    expected = pd.DataFrame(
        {
            "group_id": ["a"],
            "quarter": ["2025Q2"],
            "pooled_quarters": ["2025Q1+2025Q2"],
            "n": [5],
            "score_sum": [17.0],
            "pooled": [True],
        }
    )
    # b: Q1 was shown on its own (6), so Q1+Q2 minus Q1 would reveal Q2's two people.
    # c: Q2+Q3 straddles two pairs; d: still below k pooled; e: no partner quarter.
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.slow  # 120 random programs: CI runs it after make test
def test_pooled_figure_never_reveals_a_quarter_by_subtraction():
    for seed in range(120):
        rng = np.random.default_rng(seed)
        rows = [
            {"group_id": f"g{g}", "quarter": f"2025Q{q}", "n": int(rng.integers(0, 9))}
            for g in range(6) for q in range(1, 5)
        ]
        frame = pd.DataFrame(rows)
        pooled = pool_quarters(frame)
        shown_alone = frame[frame.n >= 5]
        for row in pooled.itertuples():
            first, second = row.pooled_quarters.split("+")
            for quarter in (first, second):
                # neither quarter of a pooled pair is shown alone, so pooled - shown is impossible
                assert shown_alone[(shown_alone.group_id == row.group_id)
                                   & (shown_alone.quarter == quarter)].empty
            assert row.n >= 5
        # pairs never overlap: each group-quarter is in at most one pooled figure
        pairs = pooled.pooled_quarters.str.split("+").explode()
        assert not pd.DataFrame({"g": pooled.group_id.repeat(2).to_numpy(),
                                 "q": pairs.to_numpy()}).duplicated().any()


def test_pool_quarters_rejects_bad_labels_and_duplicates():
    with pytest.raises(ValueError, match="write it like 2025Q3"):
        pool_quarters(pd.DataFrame({"group_id": ["a"], "quarter": ["Spring"], "n": [3]}))
    with pytest.raises(ValueError, match="more than one row"):
        pool_quarters(pd.DataFrame({"group_id": ["a", "a"], "quarter": ["2025Q1"] * 2, "n": [1, 2]}))
    assert pool_quarters(pd.DataFrame({"group_id": [], "quarter": [], "n": []})).empty


def test_suppression_of_ten_thousand_groups_is_vectorised():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "quarter": np.repeat([f"2025Q{q}" for q in range(1, 5)], 10_000),
            "group_id": np.tile([f"g{i}" for i in range(10_000)], 4),
            "n": rng.integers(0, 13, 40_000),
            "value": rng.uniform(0, 100, 40_000),
        }
    )
    frame["ci_low"], frame["ci_high"] = frame.value - 5, frame.value + 5
    result = suppress_small_cells(frame, parent_cols=("quarter",), unit_col="group_id")
    assert (result.suppression == "secondary").sum() <= 4
    assert result.loc[frame.n < 5, "status"].eq("suppressed").all()
    assert math.isclose(result.loc[result.status.eq("ok"), "value"].sum(),
                        frame.loc[result.status.eq("ok"), "value"].sum())
