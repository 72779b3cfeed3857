"""metrics.statistics against published values, scipy, and hand computation."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metrics.presentation import CANT_TELL
from metrics.statistics import (
    VERDICTS,
    Z95,
    Z998,
    Estimate,
    Reliability,
    benjamini_hochberg,
    change_verdict,
    change_verdicts,
    cronbach_alpha,
    fisher_exact_less_pvalues,
    funnel_limits_mean,
    funnel_limits_proportion,
    kaplan_meier,
    mann_whitney,
    mean_interval,
    mean_intervals,
    normal_upper_quantile,
    overdispersion_phi,
    overdispersion_tau2,
    overdispersion_tau2_means_without_each,
    shrink_means,
    shrink_proportions,
    theil_sen_trend,
    two_proportions,
    wilson_interval,
    wilson_intervals,
)

DATA = Path(__file__).parent / "data"


def rounded(r: Reliability) -> tuple:
    return (round(r.alpha, 6), round(r.ci_low, 3), round(r.ci_high, 3), r.n, r.n_items)


# ------------------------------------------------------------------ Cronbach's alpha


def test_alpha_pairwise_matches_pingouin_and_psych_on_cronbach_wide_missing():
    items = pd.read_csv(DATA / "cronbach_wide_missing.csv")
    assert rounded(cronbach_alpha(items)) == (0.732661, 0.435, 0.909, 12, 11)


def test_alpha_listwise_matches_pingouin_and_psych_on_cronbach_wide_missing():
    items = pd.read_csv(DATA / "cronbach_wide_missing.csv")
    assert rounded(cronbach_alpha(items, policy="listwise")) == (0.801695, 0.581, 0.933, 12, 11)


def test_alpha_of_long_format_cronbach_alpha_dataset_after_pivot():
    long = pd.read_csv(DATA / "cronbach_alpha.csv")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    assert rounded(cronbach_alpha(wide)) == (0.591719, 0.195, 0.840, 15, 10)


def test_alpha_is_the_variance_ratio_formula_on_complete_data():
    items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 4, 4, 5], "c": [1, 3, 3, 5, 4]})
    total_var = items.sum(axis=1).var()
    expected = 3 / 2 * (1 - items.var().sum() / total_var)
    result = cronbach_alpha(items)
    assert result.alpha == pytest.approx(expected)
    assert cronbach_alpha(items, policy="listwise") == result


def test_alpha_ignores_rows_with_no_answer_and_reports_respondents():
    items = pd.read_csv(DATA / "cronbach_wide_missing.csv")
    padded = pd.concat([items, pd.DataFrame([[np.nan] * 11], columns=items.columns)])
    assert cronbach_alpha(padded) == cronbach_alpha(items)


def test_alpha_is_nan_when_two_items_were_never_answered_together():
    items = pd.DataFrame({"a": [1, 2, np.nan, np.nan], "b": [np.nan, np.nan, 3, 4], "c": [1, 2, 3, 4]})
    result = cronbach_alpha(items)
    assert math.isnan(result.alpha) and math.isnan(result.ci_low) and result.n == 4


def test_alpha_with_one_respondent_is_nan_not_an_error():
    result = cronbach_alpha(pd.DataFrame({"a": [1], "b": [2]}))
    assert math.isnan(result.alpha) and (result.n, result.n_items) == (1, 2)


@pytest.mark.parametrize(
    ("items", "kwargs", "message"),
    [
        (pd.DataFrame({"a": [1, 2, 3]}), {}, "at least two items"),
        (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), {}, "numeric"),
        (pd.DataFrame({"a": [1, 2], "b": [2, 3]}), {"policy": "everything"}, "policy"),
        (pd.DataFrame({"a": [1, 2], "b": [2, 3]}), {"confidence": 95}, "confidence"),
        ([[1, 2], [3, 4]], {}, "DataFrame"),
    ],
)
def test_alpha_rejects_bad_input_with_a_helpful_message(items, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cronbach_alpha(items, **kwargs)


# ------------------------------------------------------------------ intervals


@pytest.mark.parametrize(("x", "n"), [(0, 1), (0, 7), (3, 10), (7, 7), (1, 12), (50, 100)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.998])
def test_wilson_interval_matches_scipy(x, n, confidence):
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
    result = wilson_interval(x, n, confidence)
    assert result.value == pytest.approx(x / n)
    assert result.n == n
    assert result.ci_low == pytest.approx(ci.low, abs=1e-12)
    assert result.ci_high == pytest.approx(ci.high, abs=1e-12)


def test_wilson_interval_of_nobody_is_nan():
    result = wilson_interval(0, 0)
    assert result.n == 0 and all(math.isnan(v) for v in (result.value, result.ci_low, result.ci_high))


def test_wilson_intervals_vectorised_equal_the_scalar_function():
    x, n = np.array([0, 3, 5, 0]), np.array([4, 10, 5, 0])
    p, low, high = wilson_intervals(x, n)
    for i in range(3):
        single = wilson_interval(int(x[i]), int(n[i]))
        assert (p[i], low[i], high[i]) == pytest.approx((single.value, single.ci_low, single.ci_high))
    assert np.isnan([p[3], low[3], high[3]]).all()


def test_wilson_rejects_more_successes_than_people():
    with pytest.raises(ValueError, match="cannot exceed"):
        wilson_interval(6, 5)


def test_mean_interval_matches_scipy_t_interval_and_drops_missing():
    values = [3.0, 4.0, 4.0, 5.0, np.nan, 2.0]
    clean = np.array([3.0, 4.0, 4.0, 5.0, 2.0])
    low, high = stats.t.interval(0.95, df=4, loc=clean.mean(), scale=stats.sem(clean))
    result = mean_interval(values)
    assert result.n == 5 and result.value == pytest.approx(3.6)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_mean_interval_with_one_value_has_no_bounds_and_with_none_has_no_value():
    one = mean_interval([4.0])
    assert (one.value, one.n) == (4.0, 1) and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    none = mean_interval([np.nan])
    assert none.n == 0 and math.isnan(none.value)


def test_mean_intervals_from_summary_statistics_equal_the_sample_version():
    sample = np.array([60.0, 75.0, 80.0, 55.0, 90.0, 70.0])
    low, high = mean_intervals([sample.mean(), 50.0], [sample.std(ddof=1), 0.0], [6, 1])
    direct = mean_interval(sample)
    assert (low[0], high[0]) == pytest.approx((direct.ci_low, direct.ci_high))
    assert np.isnan([low[1], high[1]]).all()


def test_estimate_is_frozen():
    with pytest.raises(AttributeError):
        Estimate(1.0, 1, 0.0, 2.0).value = 3.0  # type: ignore[misc]


# ------------------------------------------------------------------ Mann-Whitney


def enumerated_p(x: list[float], y: list[float]) -> float:
    """Two-sided p by listing every relabelling of the pooled sample (independent of scipy)."""
    pooled = np.array(x + y, dtype=float)
    ranks = stats.rankdata(pooled)
    observed = ranks[: len(x)].sum()
    sums = np.array([ranks[list(c)].sum() for c in itertools.combinations(range(pooled.size), len(x))])
    le = np.mean(sums <= observed + 1e-9)
    ge = np.mean(sums >= observed - 1e-9)
    return min(1.0, 2 * min(le, ge))


def test_asymptotic_p_is_materially_wrong_for_small_tied_likert_samples_and_we_use_exact():
    before, after = [5, 5, 5, 4], [4, 4, 4, 3, 4, 4]
    scipy_default = stats.mannwhitneyu(before, after).pvalue  # 'auto' -> asymptotic with ties
    u, p, method = mann_whitney(before, after)
    assert scipy_default == pytest.approx(0.0281, abs=1e-4)  # "significant" at 0.05 ...
    assert p == pytest.approx(enumerated_p(before, after)) == pytest.approx(12 / 210)  # ... it is not
    assert p > 0.05 > scipy_default and p / scipy_default > 2
    assert (u, method) == (21.5, "exact")


@pytest.mark.parametrize("seed", range(6))
def test_exact_p_with_ties_equals_full_enumeration_of_relabellings(seed):
    rng = np.random.default_rng(seed)
    x = list(rng.integers(1, 6, rng.integers(2, 7)).astype(float))
    y = list(rng.integers(1, 6, rng.integers(2, 7)).astype(float))
    u, p, method = mann_whitney(x, y)
    every_split = stats.PermutationMethod(n_resamples=10**6)
    reference = stats.mannwhitneyu(x, y, method=every_split)
    assert method == "exact"
    assert u == reference.statistic
    assert p == pytest.approx(enumerated_p(x, y), abs=1e-12)
    assert p == pytest.approx(reference.pvalue, abs=1e-12)


def test_exact_p_without_ties_equals_scipy_exact():
    x, y = [1.2, 3.4, 5.0, 7.7], [2.2, 2.9, 8.1, 9.0, 9.5, 10.1, 11.0]
    assert mann_whitney(x, y)[1:] == (pytest.approx(stats.mannwhitneyu(x, y, method="exact").pvalue), "exact")


def test_large_samples_use_the_tie_corrected_normal_approximation():
    rng = np.random.default_rng(7)
    x, y = rng.integers(1, 6, 400), rng.integers(1, 6, 380)
    reference = stats.mannwhitneyu(x, y, method="asymptotic")
    assert mann_whitney(x, y) == (reference.statistic, pytest.approx(reference.pvalue), "asymptotic")


def test_monte_carlo_permutation_is_seeded_and_reproducible():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=12), rng.normal(size=700)
    first = mann_whitney(x, y, n_resamples=999, seed=4)
    assert first == mann_whitney(x, y, n_resamples=999, seed=4)
    assert first[2] == "permutation"
    assert first[1] == pytest.approx(stats.mannwhitneyu(x, y, method="asymptotic").pvalue, abs=0.05)


def test_mann_whitney_with_an_empty_sample_says_not_enough_data():
    u, p, method = mann_whitney([], [1, 2, 3])
    assert math.isnan(u) and math.isnan(p) and method == "not enough data"


def test_mann_whitney_drops_missing_answers():
    assert mann_whitney([5, 5, np.nan, 4], [4, 3, 3]) == mann_whitney([5, 5, 4], [4, 3, 3])


# ------------------------------------------------------------------ proportions, FDR, verdicts


def test_two_proportions_uses_the_pooled_z_test_with_enough_counts():
    table = np.array([[45, 55], [30, 70]])
    chi2 = stats.chi2_contingency(table, correction=False)
    assert two_proportions(45, 100, 30, 100) == pytest.approx(chi2.pvalue)


def test_two_proportions_falls_back_to_fisher_when_an_expected_count_is_below_five():
    assert two_proportions(2, 10, 7, 11) == pytest.approx(
        stats.fisher_exact([[2, 8], [7, 4]]).pvalue
    )
    assert two_proportions(0, 8, 0, 9) == 1.0


def test_two_proportions_with_an_empty_sample_is_nan_and_bad_counts_raise():
    assert math.isnan(two_proportions(0, 0, 3, 10))
    with pytest.raises(ValueError, match="exceed"):
        two_proportions(11, 10, 3, 10)


def test_benjamini_hochberg_by_hand_and_nan_passes_through():
    adjusted = benjamini_hochberg([0.01, np.nan, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.02, np.nan, 0.04, 0.04, 0.02])


def test_benjamini_hochberg_equals_scipy_and_handles_all_missing():
    p = np.random.default_rng(1).uniform(size=30)
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p))
    assert np.isnan(benjamini_hochberg([np.nan, np.nan])).all()
    assert benjamini_hochberg([]).shape == (0,)


def test_benjamini_hochberg_is_scipys_to_the_last_digit_with_ties_zeros_and_ones():
    # computed in numpy (scipy's checks cost more than the adjustment per family): the same
    # operations, so exactly the same numbers
    rng = np.random.default_rng(11)
    for size in (1, 2, 3, 7, 8, 9, 20, 57):
        for p in (rng.uniform(size=size), np.round(rng.uniform(size=size), 1),
                  np.where(rng.uniform(size=size) < 0.3, 1.0, rng.uniform(size=size)),
                  np.where(rng.uniform(size=size) < 0.3, 0.0, rng.uniform(size=size))):
            assert np.array_equal(benjamini_hochberg(p),
                                  stats.false_discovery_control(p, method="bh"))


@pytest.mark.parametrize(
    ("delta", "p", "enough", "verdict"),
    [
        (4.0, 0.01, True, "up"),
        (-4.0, 0.01, True, "down"),
        (4.0, 0.20, True, "no clear change"),
        (0.0, 0.001, True, "no clear change"),
        (4.0, 0.01, False, "can't tell yet"),
        (float("nan"), 0.01, True, "can't tell yet"),
        (4.0, float("nan"), True, "can't tell yet"),
        (4.0, 0.05, True, "no clear change"),
    ],
)
def test_change_verdict(delta, p, enough, verdict):
    assert change_verdict(delta, p, enough) == verdict


@pytest.mark.parametrize(
    ("delta", "p", "verdict"),
    [
        (0.003, 1e-9, "no meaningful change"),   # 2,000 groups: +0.3 points is "significant"
        (-0.019, 1e-9, "no meaningful change"),
        (0.02, 1e-9, "up"),                      # exactly the minimum counts
        (-0.05, 0.01, "down"),
        (0.003, 0.5, "no clear change"),
    ],
)
def test_change_verdict_needs_a_practical_size(delta, p, verdict):
    assert change_verdict(delta, p, True, min_change=0.02) == verdict


def test_every_verdict_is_spelled_once_and_cant_tell_is_the_presentation_modules():
    assert VERDICTS[-1] is CANT_TELL
    assert change_verdict(4.0, 0.01, False) == CANT_TELL == "can't tell yet"


@pytest.mark.parametrize(("alpha", "z"), [
    # Abramowitz & Stegun table 26.5 (upper percentage points of the normal distribution)
    (0.05, 1.6448536269514722),
    (0.025, 1.959963984540054),
    (0.01, 2.3263478740408408),
    (0.001, 3.090232306167813),
    (0.5, 0.0),
])
def test_normal_upper_quantile_matches_the_published_percentage_points(alpha, z):
    assert normal_upper_quantile(alpha) == pytest.approx(z, abs=1e-12)


def test_the_interval_constants_are_the_normal_quantiles_they_name():
    assert normal_upper_quantile(0.025) == pytest.approx(Z95, abs=1e-15)
    assert normal_upper_quantile(0.001) == pytest.approx(Z998, abs=1e-15)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_normal_upper_quantile_rejects_a_level_outside_zero_and_one(alpha):
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        normal_upper_quantile(alpha)


def test_one_sided_fisher_gives_the_lady_tasting_tea_p_value():
    # Fisher (1935): 3 of 4 milk-first cups named right; p = 17/70 against her, here as the
    # lower tail of the other arrangement (1 of 4 against 3 of 4)
    assert fisher_exact_less_pvalues([1], [4], [3], [4])[0] == pytest.approx(17 / 70, abs=1e-12)
    assert fisher_exact_less_pvalues([0], [4], [4], [4])[0] == pytest.approx(1 / 70, abs=1e-12)


def test_one_sided_fisher_equals_scipy_over_every_small_table():
    tables = [(x1, n1, x2, n2) for n1 in range(1, 7) for n2 in range(1, 7)
              for x1 in range(n1 + 1) for x2 in range(n2 + 1)]
    x1, n1, x2, n2 = (np.array(v) for v in zip(*tables, strict=True))
    expected = [stats.fisher_exact([[a, b - a], [c, d - c]], alternative="less").pvalue
                for a, b, c, d in tables]
    np.testing.assert_allclose(fisher_exact_less_pvalues(x1, n1, x2, n2), expected, rtol=1e-12)


def test_one_sided_fisher_rejects_more_successes_than_people():
    with pytest.raises(ValueError, match="between 0 and their sample's total"):
        fisher_exact_less_pvalues([5], [4], [1], [4])


def test_change_verdicts_vectorised_equal_the_scalar():
    out = change_verdicts([1.0, -1.0, 1.0, 2.0], [0.01, 0.01, 0.5, 0.01], [True, True, True, False])
    assert list(out) == ["up", "down", "no clear change", "can't tell yet"]


# ------------------------------------------------------------------ funnel plots


def test_funnel_limits_for_a_proportion_by_hand_and_clipped():
    low, high = funnel_limits_proportion(0.8, np.array([10, 100, 0]), 1.96)
    half = 1.96 * math.sqrt(0.8 * 0.2 / 100)
    assert (low[1], high[1]) == pytest.approx((0.8 - half, 0.8 + half))
    assert high[0] == 1.0 and low[0] == pytest.approx(0.8 - 1.96 * math.sqrt(0.016))
    assert np.isnan([low[2], high[2]]).all()


def test_funnel_limits_inflate_only_for_overdispersion_above_one():
    n = np.array([25.0])
    plain = funnel_limits_proportion(0.5, n, 3.09)
    assert funnel_limits_proportion(0.5, n, 3.09, phi=0.6) == plain
    low, high = funnel_limits_proportion(0.5, n, 3.09, phi=2.25)
    assert high[0] - 0.5 == pytest.approx(1.5 * (plain[1][0] - 0.5))
    tau_low, tau_high = funnel_limits_proportion(0.5, n, 1.96, tau2=0.01)
    assert tau_high[0] == pytest.approx(0.5 + 1.96 * math.sqrt(0.25 / 25 + 0.01))


def test_overdispersion_phi_winsorises_the_extreme_ten_percent_by_hand():
    # 11 units of n = 400 at target 0.5: z = (p - 0.5) / 0.025, so successes = 200 + 10 z.
    z = np.array([-9.0, -2.0, -1.0, -1.0, 0.0, 0.0, 0.5, 1.0, 1.0, 3.0, 12.0])
    successes = 200 + 10 * z
    winsorised = np.array([-2.0, -2.0, -1.0, -1.0, 0.0, 0.0, 0.5, 1.0, 1.0, 3.0, 3.0])
    expected = (winsorised**2).mean()
    assert overdispersion_phi(successes, np.full(11, 400), 0.5) == pytest.approx(expected)
    w = np.full(11, 400 / 0.25)
    tau2 = (11 * expected - 10) / (w.sum() - (w**2).sum() / w.sum())
    assert overdispersion_tau2(successes, np.full(11, 400), 0.5) == pytest.approx(tau2)


def test_units_exactly_on_target_show_no_overdispersion():
    n = np.array([10, 20, 40, 0])
    assert overdispersion_phi(n * 0.5, n, 0.5) == 0.0
    assert overdispersion_tau2(n * 0.5, n, 0.5) == 0.0


def test_funnel_rejects_a_target_of_zero_or_one():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        funnel_limits_proportion(1.0, np.array([10]), 1.96)


def test_funnel_limits_for_a_mean_by_hand():
    low, high = funnel_limits_mean(70.0, 12.0, np.array([4, 16, 0]), 1.96)
    np.testing.assert_allclose(low[:2], [70 - 1.96 * 6, 70 - 1.96 * 3])
    np.testing.assert_allclose(high[:2], [70 + 1.96 * 6, 70 + 1.96 * 3])
    assert np.isnan([low[2], high[2]]).all()


# ------------------------------------------------------------------ shrinkage


def test_shrunken_proportions_lie_between_raw_and_program_rate_and_small_units_move_more():
    successes = pd.Series([2, 20, 9, 90, 30], index=list("abcde"))
    n = pd.Series([4, 40, 10, 100, 60], index=list("abcde"))
    raw = successes / n
    program = successes.sum() / n.sum()
    out = shrink_proportions(successes, n)
    assert list(out.columns) == ["estimate", "ci_low", "ci_high"] and list(out.index) == list("abcde")
    assert ((out.estimate - raw) * (out.estimate - program) <= 1e-12).all()
    pull = (raw - out.estimate) / (raw - program)
    assert pull["c"] > pull["d"]  # same raw 0.9: the 10-person unit moves more than the 100
    assert (out.ci_low <= out.estimate).all() and (out.estimate <= out.ci_high).all()


def test_shrunken_proportions_follow_the_beta_posterior():
    successes, n = np.array([3, 12, 8, 15]), np.array([10, 20, 16, 20])
    out = shrink_proportions(successes, n)
    m = successes.sum() / n.sum()
    p = successes / n
    tau2 = ((n * (p - m) ** 2).sum() - 3 * m * (1 - m)) / (n.sum() - (n**2).sum() / n.sum())
    strength = m * (1 - m) / tau2 - 1
    a, b = strength * m + successes, strength * (1 - m) + n - successes
    np.testing.assert_allclose(out.estimate, a / (a + b))
    np.testing.assert_allclose(out.ci_low, stats.beta.ppf(0.025, a, b))


def test_equal_units_get_equal_shrunken_estimates():
    out = shrink_proportions([6, 6, 6], [10, 10, 10])
    np.testing.assert_allclose(out.estimate, 0.6)
    assert out.ci_low.nunique() == 1
    means = shrink_means([70.0, 70.0, 70.0], [5.0, 5.0, 5.0])
    np.testing.assert_allclose(means.estimate, 70.0)


def test_unit_with_no_answers_gets_the_program_estimate():
    out = shrink_proportions([4, 8, 0], [10, 10, 0])
    assert out.estimate.iloc[2] == pytest.approx(0.6)


def test_shrunken_means_between_raw_and_grand_mean_and_small_units_move_more():
    means = pd.Series([40.0, 80.0, 85.0, 60.0, 85.0], index=list("vwxyz"))
    se = pd.Series([10.0, 3.0, 2.0, 4.0, 12.0], index=list("vwxyz"))
    out = shrink_means(means, se)
    w = 1 / se**2
    fixed = (w * means).sum() / w.sum()
    q = (w * (means - fixed) ** 2).sum()
    tau2 = max(0.0, (q - 4) / (w.sum() - (w**2).sum() / w.sum()))
    mu = ((means / (se**2 + tau2)).sum()) / (1 / (se**2 + tau2)).sum()
    assert tau2 > 0
    assert ((out.estimate - means) * (out.estimate - mu) <= 1e-9).all()
    pull = (means - out.estimate) / (means - mu)
    assert pull["z"] > pull["x"]  # same raw 85: the noisier unit moves more
    shrink = se**2 / (se**2 + tau2)
    np.testing.assert_allclose(out.estimate, shrink * mu + (1 - shrink) * means)


def test_shrunken_means_without_between_unit_variation_all_equal_the_pooled_mean():
    out = shrink_means([70.0, 71.0, 69.5], [5.0, 5.0, 5.0])
    np.testing.assert_allclose(out.estimate, np.mean([70.0, 71.0, 69.5]))
    assert (out.ci_high > out.ci_low).all()


def test_shrunken_means_skip_units_without_a_standard_error():
    out = shrink_means([70.0, 50.0, 65.0], [5.0, np.nan, 4.0])
    assert np.isnan(out.iloc[1]).all() and out.estimate.notna().sum() == 2


# ------------------------------------------------------------------ trend


def test_theil_sen_trend_equals_scipy():
    values = [0.61, 0.70, 0.58, 0.55, 0.52, 0.57, 0.44, 0.40]
    x = np.arange(8)
    fit = stats.theilslopes(values, x)
    tau = stats.kendalltau(x, values)
    assert theil_sen_trend(values) == {
        "slope": pytest.approx(fit.slope), "slope_low": pytest.approx(fit.low_slope),
        "slope_high": pytest.approx(fit.high_slope), "intercept": pytest.approx(fit.intercept),
        "tau": pytest.approx(tau.statistic), "p_value": pytest.approx(tau.pvalue), "n": 8,
    }


def test_theil_sen_keeps_positions_of_missing_sessions():
    result = theil_sen_trend([1.0, np.nan, 3.0, 4.0])
    assert result["slope"] == pytest.approx(1.0) and result["n"] == 3


def test_theil_sen_with_too_few_or_flat_values():
    short = theil_sen_trend([0.5, 0.6])
    assert short["n"] == 2 and all(math.isnan(short[k]) for k in ("slope", "tau", "p_value"))
    flat = theil_sen_trend([0.5, 0.5, 0.5, 0.5])
    assert flat["slope"] == 0.0 and math.isnan(flat["tau"])


# ------------------------------------------------------------------ Kaplan-Meier


def test_kaplan_meier_matches_published_6mp_table():
    # Freireich et al. (1963) 6-MP arm: weeks in remission, 1 = relapse, 0 = censored.
    weeks = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    relapse = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    # Published estimates (e.g. R: survfit(..., conf.type = "log-log")), 3 decimals.
    expected = pd.DataFrame(
        {
            "time": [6.0, 7.0, 10.0, 13.0, 16.0, 22.0, 23.0],
            "at_risk": [21, 17, 15, 12, 11, 7, 6],
            "events": [3, 1, 1, 1, 1, 1, 1],
            "survival": [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448],
            "ci_low": [0.620, 0.563, 0.503, 0.432, 0.368, 0.268, 0.188],
            "ci_high": [0.952, 0.923, 0.889, 0.849, 0.805, 0.747, 0.680],
        }
    )
    result = kaplan_meier(weeks, relapse)
    pd.testing.assert_frame_equal(result, expected, check_exact=False, atol=5e-4, rtol=0)


def test_kaplan_meier_by_hand_on_a_tiny_example():
    result = kaplan_meier([2, 3, 3, 5, 8], [True, True, False, True, False])
    survival = [4 / 5, 4 / 5 * 3 / 4, 4 / 5 * 3 / 4 * 1 / 2]
    greenwood = np.cumsum([1 / (5 * 4), 1 / (4 * 3), 1 / (2 * 1)])
    spread = 1.959963984540054 * np.sqrt(greenwood) / np.log(survival)
    expected = pd.DataFrame(
        {
            "time": [2.0, 3.0, 5.0],
            "at_risk": [5, 4, 2],
            "events": [1, 1, 1],
            "survival": survival,
            "ci_low": np.power(survival, np.exp(-spread)),
            "ci_high": np.power(survival, np.exp(spread)),
        }
    )
    pd.testing.assert_frame_equal(result, expected)


def test_kaplan_meier_when_everyone_leaves_and_when_nobody_does():
    gone = kaplan_meier([1, 2], [True, True])
    assert list(gone.survival) == [0.5, 0.0] and np.isnan(gone.ci_low.iloc[1])
    stayed = kaplan_meier([1, 2], [False, False])
    assert stayed.empty and list(stayed.columns) == [
        "time", "at_risk", "events", "survival", "ci_low", "ci_high",
    ]


def test_kaplan_meier_rejects_negative_or_mismatched_durations():
    with pytest.raises(ValueError, match="zero or more"):
        kaplan_meier([-1, 2], [True, False])
    with pytest.raises(ValueError, match="one entry per member"):
        kaplan_meier([1, 2], [True])


def test_pandas_nullable_inputs_are_read_as_missing_values():
    counts = pd.Series([1, 2, None], dtype="Int64")
    totals = pd.Series([5, 6, None], dtype="Int64")
    shrunk = shrink_proportions(counts, totals)
    assert shrunk.iloc[:2].notna().all().all() and shrunk.iloc[2].isna().all()
    assert mean_interval(pd.array([1, 2, None, 4], dtype="Int64")).n == 3
    np.testing.assert_allclose(benjamini_hochberg(pd.Series([0.01, None], dtype="Float64")), [0.01, np.nan])


def test_batched_theil_sen_trends_equal_the_one_window_function():
    from metrics.statistics import theil_sen_trend, theil_sen_trends

    rng = np.random.default_rng(11)
    windows = np.round(rng.uniform(0.2, 1.0, size=(300, 8)), 2)  # rounded: ties happen
    windows[5] = 0.5  # a flat window
    windows[7, 3] = np.nan  # a gap goes through the one-window path
    batched = theil_sen_trends(windows)
    for i, row in enumerate(windows):
        one = theil_sen_trend(row)  # a gap keeps its place in time
        for key in ("slope", "slope_low", "slope_high", "tau", "p_value", "n"):
            assert batched[key][i] == pytest.approx(one[key], nan_ok=True, rel=1e-12, abs=1e-12), (i, key)


def test_batched_mann_whitney_pvalues_equal_the_one_pair_function():
    from metrics.statistics import mann_whitney, mann_whitney_pvalues

    rng = np.random.default_rng(12)
    pairs = [(rng.integers(1, 6, size=rng.integers(0, 12)), rng.integers(1, 6, size=rng.integers(1, 12)))
             for _ in range(200)]
    pairs.append((rng.normal(size=25), rng.normal(size=30)))  # too large for the exact table
    batched = mann_whitney_pvalues(pairs)
    expected = [mann_whitney(x, y)[1] for x, y in pairs]
    assert batched == pytest.approx(np.array(expected), nan_ok=True, rel=1e-12, abs=1e-15)


def _tau2_without_by_hand(y, se, strata, units, leave_out):
    """The docstring's pooled DerSimonian-Laird tau^2 over the rows of every other unit."""
    q = den = df = 0.0
    keep = [u != leave_out for u in units]
    for stratum in sorted(set(strata)):
        rows = [i for i, s in enumerate(strata) if s == stratum and keep[i]
                and np.isfinite(y[i]) and np.isfinite(se[i]) and se[i] > 0]
        if len(rows) < 2:
            continue
        w = 1.0 / np.array([se[i] for i in rows]) ** 2
        v = np.array([y[i] for i in rows])
        s0, s1, s2 = w.sum(), (w * v).sum(), (w * v**2).sum()
        q += s2 - s1**2 / s0
        den += s0 - (w**2).sum() / s0
        df += len(rows) - 1
    return max(0.0, (q - df) / den) if den > 0 and df >= 1 else math.nan


def test_tau2_without_each_unit_matches_the_definition_unit_by_unit():
    # every unit at once (vectorised) against the definition one unit at a time: units in one
    # stratum or in many (8 or more take another path), rows repeated, errors missing or zero
    rng = np.random.default_rng(11)
    for trial in range(40):
        units, strata = int(rng.integers(2, 25)), int(rng.integers(1, 11))
        rows = [(u, s) for u in range(units) for s in range(strata) if rng.random() < 0.7]
        rows += rows[: len(rows) // 5]
        unit = [f"g{u}" for u, _ in rows]
        stratum = [f"Q{s:02d}" for _, s in rows]
        y = rng.normal(60, 12, len(rows))
        se = rng.uniform(0.5, 6, len(rows))
        se[rng.random(len(rows)) < 0.05] = np.nan
        se[rng.random(len(rows)) < 0.05] = 0.0
        got = overdispersion_tau2_means_without_each(y, se, stratum, unit)
        expected = [_tau2_without_by_hand(y, se, stratum, unit, u) for u in unit]
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=f"trial {trial}")
