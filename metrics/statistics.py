"""The statistics behind every Hearth figure: one function per statistic, honest with small numbers.

Pure functions over numpy arrays and pandas frames; no database access. Each docstring's Notes
give the formula and the caveat, and References name the source the tests check against.

Conventions
-----------
- Every estimate carries its ``n`` and an interval (:class:`Estimate`); when there is too little
  data for an interval the bounds are NaN, never a made-up number.
- Bad input raises :class:`ValueError` whose message names the argument, the problem and the fix.
- Missing values (NaN) are dropped where a statistic is computed from a sample, and passed through
  untouched where a function works element-wise over many units.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy
from numpy.typing import ArrayLike

from metrics.presentation import CANT_TELL

__all__ = [
    "Z95",
    "Z998",
    "Estimate",
    "Reliability",
    "benjamini_hochberg",
    "fisher_exact_less_pvalues",
    "fisher_exact_pvalues",
    "change_verdict",
    "change_verdicts",
    "cronbach_alpha",
    "cronbach_alpha_matrix",
    "funnel_limits_mean",
    "funnel_limits_proportion",
    "kaplan_meier",
    "mann_whitney",
    "mann_whitney_pvalues",
    "mean_interval",
    "mean_intervals",
    "normal_upper_quantile",
    "overdispersion_phi",
    "overdispersion_tau2_means",
    "overdispersion_tau2_means_without_each",
    "overdispersion_tau2",
    "poisson_count_pvalues",
    "shrink_means",
    "shrink_proportions",
    "shrunken_means",
    "shrunken_proportions",
    "survival_intervals",
    "theil_sen_trend",
    "theil_sen_trends",
    "two_proportion_pvalues",
    "two_proportions",
    "wilson_interval",
    "wilson_intervals",
]

VERDICTS = ("up", "down", "no meaningful change", "no clear change", CANT_TELL)

#: Two-sided normal quantiles: 95% intervals and funnel limits, and the 99.8% funnel limits.
Z95 = 1.959963984540054
Z998 = 3.090232306167813


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its n and confidence interval (NaN bounds: too little data)."""

    value: float
    n: int
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Reliability:
    """Cronbach's alpha with its Feldt confidence interval, respondents and items."""

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    n_items: int


# --------------------------------------------------------------------------------------------
# argument checks


def _check_confidence(confidence: float) -> float:
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(
            f"confidence must be between 0 and 1 (e.g. 0.95 for a 95% interval), not {confidence!r}"
        )
    return float(confidence)


@functools.lru_cache(maxsize=16)
def _z(confidence: float) -> float:
    # cached: scipy's isf costs ~1 ms a call, and a page's pooled figures ask for the same z
    return normal_upper_quantile((1.0 - _check_confidence(confidence)) / 2.0)


def normal_upper_quantile(alpha: float) -> float:
    """The standard normal value exceeded with probability ``alpha``.

    Parameters
    ----------
    alpha : float
        Upper-tail probability, between 0 and 1 (a one-sided test's level).

    Returns
    -------
    float
        :math:`z_\\alpha` with :math:`P(Z > z_\\alpha) = \\alpha`: 1.645 for 0.05, 1.960 for
        0.025 (a two-sided 95% interval), 3.090 for 0.001 (a 99.8% funnel limit).

    Notes
    -----
    :math:`z_\\alpha = \\Phi^{-1}(1 - \\alpha)`, computed as the normal inverse survival
    function (accurate in the far tail, where :math:`1 - \\alpha` would round).

    References
    ----------
    .. [1] Abramowitz, M. and Stegun, I. A. (1964). Handbook of Mathematical Functions,
       table 26.5 (percentage points of the normal distribution).
    """
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (e.g. 0.05), not {alpha!r}")
    return float(scipy.stats.norm.isf(float(alpha)))


def _floats(values: ArrayLike) -> np.ndarray:
    """Values as a float array; pandas missing values (pd.NA, None) become NaN."""
    if isinstance(values, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return pd.Series(values).to_numpy(dtype=float, na_value=np.nan)
    if isinstance(values, list | tuple) and any(v is None or v is pd.NA for v in values):
        return np.array([np.nan if (v is None or v is pd.NA) else v for v in values], dtype=float)
    return np.asarray(values, dtype=float)


def _sample(values: ArrayLike, name: str) -> np.ndarray:
    """A 1-d float sample with missing values dropped."""
    try:
        arr = _floats(values).ravel()
    except (TypeError, ValueError):
        try:  # numeric strings
            arr = pd.to_numeric(pd.Series(np.ravel(np.asarray(values, dtype=object))),
                                errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must contain numbers only (missing values may be NaN)"
            ) from None
    return arr[~np.isnan(arr)]


def _counts(values: ArrayLike, name: str) -> np.ndarray:
    arr = _floats(values)
    finite = arr[np.isfinite(arr)]
    if np.any(finite < 0) or np.any(finite != np.round(finite)):
        raise ValueError(f"{name} must be whole numbers of zero or more")
    return arr


# --------------------------------------------------------------------------------------------
# reliability


def cronbach_alpha(
    items: pd.DataFrame,
    policy: Literal["pairwise", "listwise"] = "pairwise",
    confidence: float = 0.95,
) -> Reliability:
    """Cronbach's alpha of a scale, with Feldt's confidence interval.

    Parameters
    ----------
    items : pandas.DataFrame
        One row per respondent, one numeric column per item, already reverse-keyed. Missing
        answers are NaN. Rows with no answer at all are not respondents and are dropped.
    policy : {"pairwise", "listwise"}
        ``"pairwise"`` (default) builds the item covariance matrix from pairwise-complete
        observations (``DataFrame.cov``; R: ``psych::alpha(use="pairwise")``).
        ``"listwise"`` first drops every respondent with a missing item
        (R: ``use="complete.obs"``).
    confidence : float
        Coverage of the interval (0.95 = 95%).

    Returns
    -------
    Reliability
        ``alpha`` (NaN when the covariance matrix cannot be formed, e.g. two items never
        answered together, or the total score has no variance), the interval, ``n`` =
        respondents (rows with at least one answer) and ``n_items``.

    Notes
    -----
    With :math:`C` the item covariance matrix of :math:`k` items,

    .. math:: \\alpha = \\frac{k}{k-1}
              \\left(1 - \\frac{\\operatorname{tr} C}{\\sum_{ij} C_{ij}}\\right)

    (the sum of item variances over the variance of the total score). Feldt's interval uses the
    F distribution with :math:`d_1 = n-1` and :math:`d_2 = (n-1)(k-1)`:

    .. math:: c_L = 1 - (1-\\alpha) F_{1-\\gamma/2}(d_1, d_2), \\quad
              c_U = 1 - (1-\\alpha) F_{\\gamma/2}(d_1, d_2)

    where :math:`F_p` is the upper-:math:`p` quantile and :math:`\\gamma = 1 -` confidence.

    As in pingouin and R's psych, :math:`n` is the number of respondents in the table for both
    policies: the listwise interval therefore uses every respondent, not only the complete
    rows, which makes it slightly narrower than a strict complete-case interval. This is what
    the published reference values (below) are, and Hearth's tests pin them.

    Caveat: alpha assumes the items measure one thing with equal loadings (tau-equivalence);
    below 0.7 treat the construct's score with caution, and with fewer than ~10 respondents the
    interval is wide whatever alpha says.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
           Psychometrika, 16(3), 297-334.
    .. [2] Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
           coefficient alpha. Applied Psychological Measurement, 11(1), 93-103.
    .. [3] Vallat, R. (2018). Pingouin: statistics in Python. JOSS 3(31), 1026 -
           ``pingouin.cronbach_alpha``; datasets ``cronbach_wide_missing`` (pairwise 0.732661,
           95% CI 0.435-0.909; listwise 0.801695, 0.581-0.933) and ``cronbach_alpha``
           (0.591719, 0.195-0.840), checked against R's psych.
    """
    if not isinstance(items, pd.DataFrame):
        raise ValueError(
            "items must be a DataFrame with one row per respondent and one column per item"
        )
    if policy not in ("pairwise", "listwise"):
        raise ValueError(f"policy must be 'pairwise' or 'listwise', not {policy!r}")
    _check_confidence(confidence)
    try:
        data = items.apply(pd.to_numeric, errors="raise").astype(float)
    except (TypeError, ValueError):
        raise ValueError(
            "items must hold numeric item scores (map answer labels to numbers first)"
        ) from None
    return cronbach_alpha_matrix(data.to_numpy(dtype=float, na_value=np.nan), policy,
                                 confidence)


def cronbach_alpha_matrix(
    answers: np.ndarray,
    policy: Literal["pairwise", "listwise"] = "pairwise",
    confidence: float = 0.95,
) -> Reliability:
    """:func:`cronbach_alpha` of a float matrix (one row per respondent, one column per item,
    NaN for a missing answer), without the frame checks: the refresh calls it for every
    construct, quarter and policy. The covariance matrix is the one ``DataFrame.cov`` gives:
    ``numpy.cov`` of the complete rows when no answer is missing, pandas' pairwise-complete
    covariance otherwise."""
    if policy not in ("pairwise", "listwise"):
        raise ValueError(f"policy must be 'pairwise' or 'listwise', not {policy!r}")
    _check_confidence(confidence)
    missing = np.isnan(answers)
    data = answers[~missing.all(axis=1)]  # rows with no answer at all are not respondents
    n, k = data.shape
    if k < 2:
        raise ValueError(f"Cronbach's alpha needs at least two items; got {k}")
    if n < 2:
        return Reliability(math.nan, math.nan, math.nan, int(n), int(k))
    if policy == "listwise":
        data = data[~np.isnan(data).any(axis=1)]
    if data.shape[0] < 2:
        return Reliability(math.nan, math.nan, math.nan, int(n), int(k))
    if np.isnan(data).any():
        cov = pd.DataFrame(data).cov().to_numpy()
    else:
        # what DataFrame.cov runs here, on the same (items x respondents, C-ordered) layout
        cov = np.cov(np.ascontiguousarray(data.T), ddof=1)
    total_variance = cov.sum()
    if np.isnan(cov).any() or total_variance <= 0:
        return Reliability(math.nan, math.nan, math.nan, int(n), int(k))
    alpha = (k / (k - 1)) * (1.0 - np.trace(cov) / total_variance)
    gamma = 1.0 - confidence
    df1 = n - 1
    df2 = df1 * (k - 1)
    # both quantiles in one call (each the same as on its own)
    upper, lower = scipy.stats.f.isf(np.array([gamma / 2.0, 1.0 - gamma / 2.0]), df1, df2)
    low = 1.0 - (1.0 - alpha) * upper
    high = 1.0 - (1.0 - alpha) * lower
    return Reliability(float(alpha), float(low), float(high), int(n), int(k))


# --------------------------------------------------------------------------------------------
# intervals


def wilson_intervals(
    successes: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`wilson_interval`: (proportion, low, high) arrays; NaN where n is 0."""
    z = _z(confidence)
    x = _counts(successes, "successes")
    m = _counts(n, "n")
    x, m = np.broadcast_arrays(x, m)
    if np.any(x > m):
        raise ValueError("successes cannot exceed n (check that both count the same people)")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(m > 0, x / m, np.nan)
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2.0 * m)) / denom
        half = (z / denom) * np.sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * m))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    # the exact endpoints at 0 and n (avoid 1e-17 rounding crumbs)
    low = np.where(x == 0, 0.0, low)
    high = np.where(x == m, 1.0, high)
    bad = ~(m > 0)
    return p, np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    """A proportion with its Wilson score interval.

    Parameters
    ----------
    successes, n : int
        Count of "yes" and the number asked (``0 <= successes <= n``).
    confidence : float
        Coverage of the interval.

    Returns
    -------
    Estimate
        ``value`` = successes / n; NaN value and bounds when n is 0.

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z = \\Phi^{-1}(1-\\gamma/2)`,

    .. math:: \\frac{\\hat p + z^2/2n}{1 + z^2/n} \\pm
              \\frac{z}{1 + z^2/n}\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} + \\frac{z^2}{4n^2}}

    Unlike the Wald interval it stays inside [0, 1] and keeps close to nominal coverage for
    small n and proportions near 0 or 1 - the normal case for 8-12 member groups.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
           inference. JASA 22(158), 209-212.
    .. [2] Brown, L. D., Cai, T. T., & DasGupta, A. (2001). Interval estimation for a binomial
           proportion. Statistical Science 16(2), 101-133.
    """
    p, low, high = wilson_intervals(successes, n, confidence)
    return Estimate(float(p), int(n), float(low), float(high))


def mean_intervals(
    means: ArrayLike, sds: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised t interval from summary statistics (mean, sample SD, n): (low, high).

    Use this when the warehouse has already aggregated ``avg``, ``stddev_samp`` and ``count``
    per unit. Bounds are NaN where n < 2.
    """
    _check_confidence(confidence)
    mean = _floats(means)
    sd = _floats(sds)
    count = _counts(n, "n")
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(count >= 2, count - 1, np.nan)
        t = scipy.stats.t.isf((1.0 - confidence) / 2.0, df)
        half = t * sd / np.sqrt(count)
    return mean - half, mean + half


def mean_interval(values: ArrayLike, confidence: float = 0.95) -> Estimate:
    """A mean with its Student-t confidence interval.

    Parameters
    ----------
    values : array-like
        The sample; NaN values are dropped.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    Estimate
        ``value`` = sample mean (NaN when empty), ``n`` = non-missing values; NaN bounds when
        n < 2.

    Notes
    -----
    .. math:: \\bar y \\pm t_{1-\\gamma/2,\\,n-1}\\; s / \\sqrt n

    with :math:`s` the sample standard deviation (``ddof=1``). For bounded scores (0-100
    indices) the interval can cross the bounds with tiny n; it is not clipped, so the width
    honestly shows how little is known.

    References
    ----------
    .. [1] Student (1908). The probable error of a mean. Biometrika 6(1), 1-25.
    """
    sample = _sample(values, "values")
    n = sample.size
    if n == 0:
        return Estimate(math.nan, 0, math.nan, math.nan)
    mean = float(sample.mean())
    if n < 2:
        return Estimate(mean, 1, math.nan, math.nan)
    low, high = mean_intervals(mean, sample.std(ddof=1), n, confidence)
    return Estimate(mean, int(n), float(low), float(high))


# --------------------------------------------------------------------------------------------
# change between quarters

#: Above this many array cells the exact tie-aware distribution is not worth computing.
_EXACT_WORK_LIMIT = 20_000_000
#: permutation resamples ranked at once by the Mann-Whitney permutation test (memory bound)
PERMUTATION_BATCH = 500


@functools.lru_cache(maxsize=4096)
def _rank_sum_tails(block: tuple[int, ...], n1: int) -> tuple[np.ndarray, np.ndarray]:
    """P(2R <= r) and P(2R >= r) for every r, R the rank sum of a sample of ``n1`` values.

    ``block`` holds the sizes of the pooled sample's tie blocks in value order. Under H0 every
    split of the pooled values into the two samples is equally likely, and only how many of the
    sample's values fall in each tie block matters: the distribution of twice the rank sum is
    built block by block, choosing ``a`` of a block's ``t`` values (C(t, a) ways) adding
    ``a * twice_midrank``. This is the full permutation distribution, not a sample of it. It
    depends only on the tie pattern, so it is cached (untied samples of the same sizes share it).
    """
    sizes = np.asarray(block, dtype=np.int64)
    twice_midrank = (2 * np.cumsum(sizes) - sizes + 1).tolist()  # first rank + last rank
    top = int(twice_midrank[-1]) * n1 + 1
    ways = np.zeros((n1 + 1, top))
    ways[0, 0] = 1.0
    for size, step in zip(block, twice_midrank, strict=True):
        new = ways.copy()  # a = 0: none of this block's values in the sample
        for a in range(1, min(size, n1) + 1):
            shift = a * step
            new[a:, shift:] += math.comb(size, a) * ways[: n1 + 1 - a, : top - shift]
        ways = new
    pmf = ways[n1] / ways[n1].sum()
    cdf_le = np.cumsum(pmf)
    sf_ge = np.cumsum(pmf[::-1])[::-1]
    cdf_le.flags.writeable = False
    sf_ge.flags.writeable = False
    return cdf_le, sf_ge


def mann_whitney(
    before: ArrayLike,
    after: ArrayLike,
    *,
    n_resamples: int = 9999,
    seed: int = 0,
) -> tuple[float, float, str]:
    """Mann-Whitney U test for two independent samples (e.g. two quarters' anonymous answers).

    Parameters
    ----------
    before, after : array-like
        The two samples (NaN dropped). Survey answers are anonymous, so quarters are compared
        as independent samples, never paired.
    n_resamples : int
        Resamples for the Monte-Carlo permutation test, used only when the exact distribution
        is too large to build and a sample is small (see Notes).
    seed : int
        Seed of the Monte-Carlo permutation test, so reruns give the same p.

    Returns
    -------
    (U, p, method)
        ``U`` of ``before`` (:math:`U_1`), the two-sided p-value and the method used: ``"exact"``,
        ``"permutation"`` or ``"asymptotic"``. With an empty sample: ``(nan, nan,
        "not enough data")``.

    Notes
    -----
    .. math:: U_1 = R_1 - n_1(n_1+1)/2

    with :math:`R_1` the sum of ``before``'s (mid)ranks in the pooled sample. The two-sided p is
    :math:`\\min(1, 2\\min(P(U \\le U_1), P(U \\ge U_1)))` under the permutation distribution,
    as in ``scipy.stats.permutation_test``.

    Why not scipy's default: ``mannwhitneyu(method="auto")`` uses the exact null distribution
    only when there are no ties, and otherwise the normal approximation with a tie correction.
    Likert answers from a group of 8-12 members are almost all ties (five possible values), and
    with so few observations the discrete U distribution is far from normal: the asymptotic p
    can be off by a factor of two at the 0.05 boundary (the tests pin such a case). scipy's
    ``"exact"`` ignores ties, which is wrong too.

    Hearth therefore computes the *exact permutation distribution with ties*: only the number
    of ``before`` values in each tie block matters, so the distribution of the rank sum is
    built block by block (a multivariate-hypergeometric convolution). It equals a full
    enumeration of every relabelling (``PermutationMethod`` with enough resamples) and is
    deterministic. When that table would be too large (roughly more than 20 million cells),
    samples of at least 20 use the tie-corrected normal approximation, which is accurate
    there, and smaller samples use a seeded Monte-Carlo permutation test.

    References
    ----------
    .. [1] Mann, H. B., & Whitney, D. R. (1947). On a test of whether one of two random
           variables is stochastically larger than the other. Ann. Math. Stat. 18, 50-60.
    .. [2] Hollander, M., Wolfe, D. A., & Chicken, E. (2014). Nonparametric Statistical Methods,
           3rd ed., Wiley, section 4.1 (exact conditional distribution with ties).
    .. [3] SciPy ``scipy.stats.mannwhitneyu`` documentation: "If there are ties and either
           samples is small (fewer than ~10 observations), consider passing an instance of
           PermutationMethod".
    """
    x = _sample(before, "before")
    y = _sample(after, "after")
    if x.size == 0 or y.size == 0:
        return math.nan, math.nan, "not enough data"
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive number of resamples, not {n_resamples}")
    _, inverse, block = np.unique(np.concatenate([x, y]), return_inverse=True, return_counts=True)
    twice_midrank = 2 * np.cumsum(block) - block + 1  # 2 * (first rank + last rank) / 2
    twice_rank_sum_x = int(twice_midrank[inverse[: x.size]].sum())
    u1 = twice_rank_sum_x / 2.0 - x.size * (x.size + 1) / 2.0
    small = min(x.size, y.size)
    pooled_size = x.size + y.size
    # the table is built for the smaller sample (its rank sum determines the other's)
    shifts = int(np.minimum(block, small).sum() + block.size)
    work = shifts * (small + 1) * (2 * pooled_size * small + 1)
    if work <= _EXACT_WORK_LIMIT:
        if x.size <= y.size:
            observed = twice_rank_sum_x
        else:
            observed = int(twice_midrank[inverse[x.size :]].sum())
        cdf_le, sf_ge = _rank_sum_tails(tuple(block.tolist()), small)
        return u1, float(min(1.0, 2.0 * min(cdf_le[observed], sf_ge[observed]))), "exact"
    if small >= 20:
        p = float(scipy.stats.mannwhitneyu(x, y, method="asymptotic").pvalue)
        return u1, p, "asymptotic"
    # in batches: scipy draws the permutations one at a time either way (the same p), but
    # unbatched it holds every resample's ranks at once, gigabytes when the larger sample has
    # thousands of answers (the refresh of a 2,000-group program peaked at 3.3 GB there)
    method = scipy.stats.PermutationMethod(n_resamples=n_resamples, batch=PERMUTATION_BATCH,
                                           rng=np.random.default_rng(seed))
    p = float(scipy.stats.mannwhitneyu(x, y, method=method).pvalue)
    return u1, p, "permutation"


def mann_whitney_pvalues(pairs: Sequence[tuple[ArrayLike, ArrayLike]]) -> np.ndarray:
    """The two-sided p of :func:`mann_whitney` for many (before, after) pairs, the same values.

    The ranks of every pair come from one sort of all the pairs' values together; each pair
    then needs only its tie pattern and rank sum to read its p from the cached exact
    distribution (``_rank_sum_tails``). Pairs whose exact table would be too large, or with an
    empty sample, go through :func:`mann_whitney` itself.
    """
    out = np.full(len(pairs), np.nan)
    xs = [_sample(before, "before") for before, _ in pairs]
    ys = [_sample(after, "after") for _, after in pairs]
    nx = np.array([x.size for x in xs], dtype=np.int64)
    ny = np.array([y.size for y in ys], dtype=np.int64)
    if not len(pairs) or not (nx + ny).sum():
        return out
    pooled = nx + ny
    pair = np.repeat(np.arange(len(pairs)), pooled)
    values = np.concatenate([v for x, y in zip(xs, ys, strict=True) for v in (x, y)])
    is_x = np.concatenate([np.repeat([True, False], [x.size, y.size])
                           for x, y in zip(xs, ys, strict=True)])
    order = np.lexsort((values, pair))
    sorted_pair, sorted_values = pair[order], values[order]
    new_block = np.r_[True, (sorted_pair[1:] != sorted_pair[:-1])
                      | (sorted_values[1:] != sorted_values[:-1])]
    block_of = np.cumsum(new_block) - 1  # block index of each sorted value
    starts = np.flatnonzero(new_block)
    sizes = np.diff(np.r_[starts, len(order)])
    block_pair = sorted_pair[starts]
    # twice the midrank of each block: 2 * cumulative size within its pair - size + 1
    first_block = np.searchsorted(block_pair, np.arange(len(pairs)))
    cumulative = np.cumsum(sizes)
    before_pair = np.r_[0, cumulative][first_block][block_pair]
    twice_midrank = 2 * (cumulative - before_pair) - sizes + 1
    value_midrank = twice_midrank[block_of]
    sorted_is_x = is_x[order]
    twice_x = np.bincount(sorted_pair[sorted_is_x], weights=value_midrank[sorted_is_x],
                          minlength=len(pairs))
    twice_y = np.bincount(sorted_pair[~sorted_is_x], weights=value_midrank[~sorted_is_x],
                          minlength=len(pairs))
    block_edges = np.r_[first_block, len(sizes)]
    for i in range(len(pairs)):
        if nx[i] == 0 or ny[i] == 0:
            continue  # "not enough data": NaN
        block = sizes[block_edges[i]:block_edges[i + 1]]
        small = int(min(nx[i], ny[i]))
        shifts = int(np.minimum(block, small).sum() + block.size)
        work = shifts * (small + 1) * (2 * int(pooled[i]) * small + 1)
        if work > _EXACT_WORK_LIMIT:
            out[i] = mann_whitney(xs[i], ys[i])[1]
            continue
        observed = int(twice_x[i]) if nx[i] <= ny[i] else int(twice_y[i])
        cdf_le, sf_ge = _rank_sum_tails(tuple(block.tolist()), small)
        out[i] = float(min(1.0, 2.0 * min(cdf_le[observed], sf_ge[observed])))
    return out


def two_proportions(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value for a difference between two independent proportions.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Successes and totals of the two samples.

    Returns
    -------
    float
        Two-sided p; NaN when either total is 0.

    Notes
    -----
    Pooled z test: with :math:`\\hat p = (x_1+x_2)/(n_1+n_2)`,

    .. math:: z = \\frac{x_1/n_1 - x_2/n_2}{\\sqrt{\\hat p(1-\\hat p)(1/n_1 + 1/n_2)}},
              \\quad p = 2\\,\\Phi(-|z|)

    which is the uncorrected Pearson chi-square test of the 2x2 table. When any expected count
    (:math:`n_i \\hat p` or :math:`n_i(1-\\hat p)`) is below 5 the normal approximation is poor,
    and Fisher's exact test (``scipy.stats.fisher_exact``) is used instead.

    References
    ----------
    .. [1] Agresti, A. (2013). Categorical Data Analysis, 3rd ed., Wiley, sections 3.1 and 3.5.
    .. [2] Cochran, W. G. (1954). Some methods for strengthening the common chi-square tests.
           Biometrics 10(4), 417-451 (the expected-count-of-5 rule).
    """
    _counts([x1, n1, x2, n2], "x1, n1, x2 and n2")
    if x1 > n1 or x2 > n2:
        raise ValueError("successes cannot exceed their total (x1 <= n1 and x2 <= n2)")
    if n1 == 0 or n2 == 0:
        return math.nan
    pooled = (x1 + x2) / (n1 + n2)
    expected = np.array([n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)])
    if np.any(expected < 5):
        table = [[x1, n1 - x1], [x2, n2 - x2]]
        return float(scipy.stats.fisher_exact(table, alternative="two-sided").pvalue)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2.0 * scipy.stats.norm.sf(abs(z)))


def two_proportion_pvalues(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike,
                           n2: ArrayLike) -> np.ndarray:
    """:func:`two_proportions` over arrays: the same p for every row, computed at once.

    Parameters
    ----------
    x1, n1, x2, n2 : array-like
        Successes and totals of the two samples, one row per unit (e.g. per group: last
        quarter's and this quarter's attended and expected member-sessions).

    Returns
    -------
    numpy.ndarray
        Two-sided p per row; NaN where a total is 0 or missing.

    Notes
    -----
    Rows whose expected counts are all at least 5 use the pooled z test of
    :func:`two_proportions`, vectorised:

    .. math:: z = \\frac{x_1/n_1 - x_2/n_2}{\\sqrt{\\hat p(1-\\hat p)(1/n_1 + 1/n_2)}},
              \\quad p = 2\\,\\Phi(-|z|)

    The rest take Fisher's exact test (:func:`fisher_exact_pvalues`), once per distinct table.

    References
    ----------
    .. [1] Agresti, A. (2013). Categorical Data Analysis, 3rd ed., Wiley, sections 3.1 and 3.5.
    """
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    out = np.full(x1.shape, np.nan)
    valid = np.isfinite(x1) & np.isfinite(n1) & np.isfinite(x2) & np.isfinite(n2) \
        & (n1 > 0) & (n2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        expected = np.minimum.reduce([n1 * pooled, n1 * (1 - pooled), n2 * pooled,
                                      n2 * (1 - pooled)])
        z = (x1 / n1 - x2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    large = valid & (expected >= 5)
    out[large] = 2.0 * scipy.stats.norm.sf(np.abs(z[large]))
    small = valid & ~large
    if small.any():
        tables = np.stack([x1[small], n1[small], x2[small], n2[small]], axis=1).astype(np.int64)
        distinct, inverse = np.unique(tables, axis=0, return_inverse=True)
        out[small] = fisher_exact_pvalues(distinct)[inverse.ravel()]
    return out


def fisher_exact_pvalues(tables: np.ndarray) -> np.ndarray:
    """Two-sided Fisher exact p for many 2x2 tables at once.

    Parameters
    ----------
    tables : numpy.ndarray
        Integer rows ``(x1, n1, x2, n2)``: successes and totals of the two samples.

    Returns
    -------
    numpy.ndarray
        Two-sided p per table, the value ``scipy.stats.fisher_exact`` gives.

    Notes
    -----
    Given the margins, :math:`x_1` is hypergeometric,
    :math:`P(X = x) = \\binom{x_1+x_2}{x}\\binom{n_1+n_2-x_1-x_2}{n_1-x} / \\binom{n_1+n_2}{n_1}`;
    p sums the probabilities of every table no more likely than the one observed (relative
    tolerance :math:`10^{-7}`, as scipy). Tables with margins wider than 2,000 go one at a time
    through :func:`two_proportions`.

    References
    ----------
    .. [1] Fisher, R. A. (1935). The logic of inductive inference. JRSS 98(1), 39-82.
    .. [2] Agresti, A. (2013). Categorical Data Analysis, 3rd ed., Wiley, section 3.5.
    """
    x1, n1, x2, n2 = tables.T
    total = n1 + n2
    successes = x1 + x2
    low = np.maximum(0, n1 + successes - total)
    high = np.minimum(successes, n1)
    width = int((high - low).max()) + 1 if len(tables) else 0
    if width > 2000:
        return np.array([two_proportions(*map(int, row)) for row in tables])
    support = low[:, None] + np.arange(width)[None, :]
    inside = support <= high[:, None]
    pmf = np.where(inside, scipy.stats.hypergeom.pmf(support, total[:, None], successes[:, None],
                                               n1[:, None]), 0.0)
    observed = scipy.stats.hypergeom.pmf(x1, total, successes, n1)
    # summed left to right (cumsum), not pairwise: a table's p must not depend on the width
    # of the batch it came in, or a refresh of some quarters would differ from a full one
    # in the last digit
    p = np.where(pmf <= observed[:, None] * (1 + 1e-7), pmf, 0.0).cumsum(axis=1)[:, -1]
    return np.minimum(p, 1.0)


def fisher_exact_less_pvalues(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike,
                              n2: ArrayLike) -> np.ndarray:
    """One-sided Fisher exact p that the first sample's share is lower than the second's.

    Parameters
    ----------
    x1, n1 : array_like
        Successes and total of the first sample (e.g. a group's first-timers who returned).
    x2, n2 : array_like
        Successes and total of the second sample (e.g. the baseline's).

    Returns
    -------
    numpy.ndarray
        p per pair, the value ``scipy.stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]],
        alternative="less")`` gives.

    Notes
    -----
    With the table's margins fixed, :math:`X_1` is hypergeometric (population
    :math:`n_1 + n_2`, :math:`x_1 + x_2` successes, :math:`n_1` draws) and
    :math:`p = P(X_1 \\le x_1) = \\sum_{x \\le x_1} \\binom{x_1+x_2}{x}
    \\binom{n_1+n_2-x_1-x_2}{n_1-x} / \\binom{n_1+n_2}{n_1}`. Exact for small samples, and the
    second sample's own uncertainty counts too (unlike a test against a fixed rate).

    References
    ----------
    .. [1] Fisher, R. A. (1935). The Design of Experiments, section 2 (the lady tasting tea:
       3 of 4 cups right, p = 17/70 = 0.2429).
    .. [2] Agresti, A. (2013). Categorical Data Analysis, 3rd ed., Wiley, section 3.5.
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    if np.any((x1 < 0) | (x2 < 0) | (x1 > n1) | (x2 > n2)):
        raise ValueError("successes must lie between 0 and their sample's total")
    return np.asarray(scipy.stats.hypergeom.cdf(x1, n1 + n2, x1 + x2, n1), dtype=float)


def poisson_count_pvalues(before: ArrayLike, after: ArrayLike) -> np.ndarray:
    """Two-sided conditional test that two counts come from the same Poisson rate.

    Parameters
    ----------
    before, after : array-like
        The counts of the two periods (e.g. active members last quarter and this one).

    Returns
    -------
    numpy.ndarray
        Two-sided p per pair; NaN where a count is missing, 1 when both are 0.

    Notes
    -----
    Given the total :math:`t = b + a`, under no change :math:`A \\sim \\mathrm{Binomial}(t, 1/2)`:

    .. math:: p = \\min\\bigl(1,\\; 2\\min(P(A \\le a),\\, P(A \\ge a))\\bigr)

    Counts here are censuses of equal-length quarters, so the rates compare as the counts do.

    References
    ----------
    .. [1] Przyborowski, J., & Wilenski, H. (1940). Homogeneity of results in testing samples
           from Poisson series. Biometrika 31(3/4), 313-323.
    .. [2] Krishnamoorthy, K., & Thomson, J. (2004). A more powerful test for comparing two
           Poisson means. J. Stat. Planning and Inference 119(1), 23-35 (the conditional test).
    """
    b = np.asarray(before, dtype=float)
    a = np.asarray(after, dtype=float)
    out = np.full(b.shape, np.nan)
    ok = np.isfinite(a) & np.isfinite(b)
    total = np.where(ok, a + b, 0)
    low = scipy.stats.binom.cdf(np.where(ok, a, 0), total, 0.5)
    high = scipy.stats.binom.sf(np.where(ok, a, 0) - 1, total, 0.5)
    out[ok] = np.minimum(1.0, 2.0 * np.minimum(low, high))[ok]
    out[ok & (total == 0)] = 1.0
    return out


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN entries pass through untouched.

    Parameters
    ----------
    pvalues : array-like
        One p-value per test (e.g. per group's change this quarter). NaN = no test was run.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input's order and shape; the adjustment counts only the tests
        actually run.

    Notes
    -----
    With the :math:`m` p-values sorted, :math:`p_{(i)}`,

    .. math:: \\tilde p_{(i)} = \\min_{j \\ge i} \\min(1, m\\,p_{(j)}/j)

    Controls the expected share of false discoveries among the changes called "up"/"down"
    at the chosen level. The computation is ``scipy.stats.false_discovery_control(method="bh")``
    step for step, in numpy (the refresh adjusts one family per quarter and indicator, and
    scipy's input checks cost more than the adjustment; tests compare the two exactly).

    References
    ----------
    .. [1] Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate.
           JRSS B 57(1), 289-300.
    """
    p = _floats(pvalues)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError("p-values must lie between 0 and 1 (use NaN where no test was run)")
    if ok.any():
        out[ok] = _bh_adjusted(p[ok])
    return out


def _bh_adjusted(p: np.ndarray) -> np.ndarray:
    """scipy.stats.false_discovery_control(p, method="bh") of a 1-d float array of p-values
    in [0, 1], with the same operations in the same order."""
    if p.size <= 1:
        return p
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ps = np.take_along_axis(p, order, axis=-1)
    ps = ps * (m / np.arange(1, m + 1, dtype=ps.dtype))
    # from the largest p down, each adjusted p is at most the next larger one's
    np.minimum.accumulate(ps[..., ::-1], out=ps[..., ::-1], axis=-1)
    np.put_along_axis(ps, order, values=ps.copy(), axis=-1)
    return np.clip(ps, 0.0, 1.0)


def change_verdict(
    delta: float, p_adjusted: float, enough_data: bool, alpha: float = 0.05,
    min_change: float = 0.0,
) -> str:
    """The plain-language verdict on a change between quarters.

    Returns exactly one of ``"up"``, ``"down"``, ``"no meaningful change"``,
    ``"no clear change"``, ``"can't tell yet"``.

    Notes
    -----
    - ``"can't tell yet"`` when there is not enough data, or delta or p is missing;
    - ``"up"``/``"down"`` when the adjusted p is below ``alpha`` **and** ``|delta|`` is at least
      ``min_change`` (the smallest change worth acting on), by the sign of delta;
    - ``"no meaningful change"`` when the change is clear (p below ``alpha``) but smaller than
      ``min_change``: with enough data a trivial change is significant, and is still trivial;
    - ``"no clear change"`` otherwise (including delta exactly 0).

    "No clear change" is not "no change": the data cannot tell the quarters apart.
    """
    return str(change_verdicts([delta], [p_adjusted], [enough_data], alpha, [min_change])[0])


def change_verdicts(
    delta: ArrayLike, p_adjusted: ArrayLike, enough_data: ArrayLike, alpha: float = 0.05,
    min_change: ArrayLike = 0.0,
) -> np.ndarray:
    """Vectorised :func:`change_verdict` over many units (object array of verdict strings).

    ``min_change`` (one value, or one per unit; NaN = no minimum) is compared with ``|delta|``.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (e.g. 0.05), not {alpha!r}")
    d = _floats(delta)
    p = _floats(p_adjusted)
    enough = np.asarray(pd.Series(np.ravel(enough_data)).fillna(False).astype(bool)).reshape(
        np.shape(enough_data)
    )
    minimum = np.nan_to_num(_floats(min_change), nan=0.0)
    d, p, enough, minimum = np.broadcast_arrays(d, p, enough, minimum)
    cant = ~enough | np.isnan(d) | np.isnan(p)
    clear = (p < alpha) & ~cant & (d != 0)
    # (a tiny tolerance: a change of exactly the minimum, e.g. 0.87 - 0.85, is meaningful)
    meaningful = np.abs(d) >= minimum - 1e-9
    out = np.full(d.shape, "no clear change", dtype=object)
    out[clear & ~meaningful] = "no meaningful change"
    out[clear & meaningful & (d > 0)] = "up"
    out[clear & meaningful & (d < 0)] = "down"
    out[cant] = CANT_TELL
    return out


# --------------------------------------------------------------------------------------------
# comparing groups: funnel plots


def _check_target(target: float) -> float:
    if not 0.0 < float(target) < 1.0:
        raise ValueError(
            f"target proportion must be strictly between 0 and 1, not {target!r} "
            "(with a target of 0 or 1 every group sits on the line and no limits exist)"
        )
    return float(target)


def _standardised_scores(successes: ArrayLike, n: ArrayLike, target: float) -> np.ndarray:
    x = _counts(successes, "successes")
    m = _counts(n, "n")
    x, m = np.broadcast_arrays(x, m)
    if np.any(x > m):
        raise ValueError("successes cannot exceed n for any unit")
    keep = (m > 0) & np.isfinite(x) & np.isfinite(m)
    p = x[keep] / m[keep]
    return (p - target) / np.sqrt(target * (1 - target) / m[keep])


def _winsorised(z: np.ndarray, share: float) -> np.ndarray:
    low, high = np.percentile(z, [100 * share, 100 * (1 - share)])
    return np.clip(z, low, high)


def overdispersion_phi(
    successes: ArrayLike, n: ArrayLike, target: float, *, winsor: float = 0.10
) -> float:
    """Multiplicative over-dispersion factor for a funnel plot of proportions.

    Parameters
    ----------
    successes, n : array-like
        Per unit (e.g. per group this quarter). Units with n = 0 are ignored.
    target : float
        The comparison proportion (usually the program's overall rate).
    winsor : float
        Share of z-scores pulled in at each tail before estimating (10%).

    Returns
    -------
    float
        :math:`\\hat\\phi`; NaN with no usable unit. Values above 1 mean the units vary more
        than chance alone explains; :func:`funnel_limits_proportion` inflates only then.

    Notes
    -----
    .. math:: z_i = \\frac{y_i - \\theta_0}{\\sqrt{\\theta_0(1-\\theta_0)/n_i}}, \\qquad
              \\hat\\phi = \\frac1k \\sum_i z_{i,W}^2

    where :math:`z_{i,W}` are the z-scores Winsorised at the 10th and 90th percentiles, so that
    the outliers the plot is meant to reveal do not inflate their own limits.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
           Statistics in Medicine 24(8), 1185-1202.
    .. [2] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
           Quality and Safety in Health Care 14(5), 347-351.
    """
    z = _standardised_scores(successes, n, _check_target(target))
    if z.size == 0:
        return math.nan
    return float(np.mean(_winsorised(z, winsor) ** 2))


def overdispersion_tau2(
    successes: ArrayLike, n: ArrayLike, target: float, *, winsor: float = 0.10
) -> float:
    """Additive (random-effects) over-dispersion :math:`\\tau^2` for proportions; 0 if none.

    Notes
    -----
    With weights :math:`w_i = 1/s_i^2 = n_i / (\\theta_0(1-\\theta_0))` and :math:`\\hat\\phi` from
    :func:`overdispersion_phi`,

    .. math:: \\hat\\tau^2 = \\max\\left(0, \\frac{k\\hat\\phi - (k-1)}
              {\\sum w_i - \\sum w_i^2 / \\sum w_i}\\right)

    Limits then become :math:`\\theta_0 \\pm z\\sqrt{s_i^2 + \\tau^2}`: unlike the multiplicative
    factor they do not narrow to zero width for very large units (Spiegelhalter 2005b).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
           Quality and Safety in Health Care 14(5), 347-351.
    .. [2] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
           Controlled Clinical Trials 7(3), 177-188.
    """
    target = _check_target(target)
    m = _counts(n, "n")
    m = m[np.isfinite(m) & (m > 0)]
    phi = overdispersion_phi(successes, n, target, winsor=winsor)
    if math.isnan(phi) or m.size < 2:
        return math.nan if math.isnan(phi) else 0.0
    w = m / (target * (1 - target))
    k = m.size
    return float(max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum())))


def overdispersion_tau2_means(values: ArrayLike, se: ArrayLike) -> float:
    """Between-unit variance :math:`\tau^2` of means (DerSimonian-Laird); 0 if none.

    Notes
    -----
    With weights :math:`w_i = 1/se_i^2`, the weighted mean :math:`\bar y_w` and
    :math:`Q = \\sum w_i (y_i - \bar y_w)^2` over the :math:`k` units,

    .. math:: \\hat\tau^2 = \\max\\left(0, \frac{Q - (k-1)}{\\sum w_i - \\sum w_i^2/\\sum w_i}
              \right)

    Limits for a unit's mean then become :math:`\bar y \\pm z\\sqrt{se_i^2 + \tau^2}`: groups
    differ by more than their sampling noise (their members, their age, their facilitator),
    and a funnel without :math:`\tau^2` flags that ordinary spread as if it were a problem.
    Units with a missing or zero standard error are ignored; NaN with fewer than 2 units.

    References
    ----------
    .. [1] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
           Controlled Clinical Trials 7(3), 177-188.
    """
    y = _floats(values)
    e = _floats(se)
    ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
    y, e = y[ok], e[ok]
    if y.size < 2:
        return math.nan
    w = 1.0 / e**2
    mean = (w * y).sum() / w.sum()
    q = (w * (y - mean) ** 2).sum()
    return float(max(0.0, (q - (y.size - 1)) / (w.sum() - (w**2).sum() / w.sum())))


def overdispersion_tau2_means_without_each(
    values: ArrayLike, se: ArrayLike, strata: ArrayLike, units: ArrayLike
) -> np.ndarray:
    r"""For each row, the DerSimonian-Laird :math:`\tau^2` of the rows of *other* units (e.g.
    groups), pooled over strata (e.g. quarters) that each have their own centre.

    Notes
    -----
    Per stratum, with :math:`S_0 = \sum w`, :math:`S_1 = \sum w y`, :math:`S_2 = \sum w y^2`
    (:math:`w = 1/se^2`), :math:`Q = S_2 - S_1^2/S_0` and the DL denominator
    :math:`S_0 - \sum w^2/S_0`. Summed over strata with :math:`k_s - 1` degrees of freedom
    each, :math:`\hat\tau^2 = \max(0, (\sum Q - \sum (k_s-1)) / \sum \text{denominator})`.
    Leaving a unit out subtracts all its rows from their strata's sums. Pooling the strata
    gives a steady estimate from a few groups a quarter; leaving the whole unit out keeps a
    group far out of line (this quarter or any other) from widening its own limits. NaN where
    no degree of freedom remains. Rows with a missing or non-positive standard error take no
    part in any estimate.
    """
    y = _floats(values)
    e = _floats(se)
    ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
    w = np.where(ok, 1.0 / np.where(ok, e, 1.0) ** 2, 0.0)
    y0 = np.where(ok, y, 0.0)
    codes, _ = pd.factorize(pd.Series(np.asarray(strata)))
    unit_codes, _ = pd.factorize(pd.Series(np.asarray(units)))
    if len(unit_codes) and unit_codes.min() < 0:  # the rows of no unit are one unit of their own
        unit_codes = np.where(unit_codes < 0, unit_codes.max() + 1, unit_codes)
    size = int(codes.max()) + 1 if len(codes) else 0
    terms = np.stack([ok.astype(float), w, w * y0, w * y0**2, w**2])  # k, S0, S1, S2, Sw2

    def parts(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k, s0, s1, s2, sw2 = sums
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where((k >= 2) & (s0 > 0), s2 - s1**2 / s0, 0.0)
            den = np.where((k >= 2) & (s0 > 0), s0 - sw2 / s0, 0.0)
        return q, den, np.maximum(k - 1, 0)

    by_stratum = np.stack([np.bincount(codes, weights=t, minlength=size) for t in terms])
    q_all, den_all, df_all = parts(by_stratum)
    out = np.full(len(y), np.nan)
    if not len(y):
        return out
    # each unit's rows in index order, found by one sort (a scan of every row per unit was
    # quadratic in the number of groups)
    order = np.argsort(unit_codes, kind="stable")
    # Every unit at once: its sums per stratum it touches (unit x stratum pairs, in stratum
    # order), the stratum sums without them, and per unit the totals below. bincount adds in
    # array order from 0, as numpy's sum does up to 7 terms, so each figure is the one the
    # unit-by-unit loop gives, bit for bit; a unit in 8 or more strata (numpy then sums
    # pairwise) takes the loop.
    pair = unit_codes[order].astype(np.int64) * size + codes[order]
    pairs, which = np.unique(pair, return_inverse=True)
    pair_unit, pair_stratum = pairs // size, pairs % size
    mine = np.stack([np.bincount(which, weights=t[order], minlength=len(pairs)) for t in terms])
    q_left, den_left, df_left = parts(by_stratum[:, pair_stratum] - mine)
    units_n = int(unit_codes.max()) + 1
    strata_of = np.bincount(pair_unit, minlength=units_n)

    def per_unit(values: np.ndarray) -> np.ndarray:
        return np.bincount(pair_unit, weights=values, minlength=units_n)

    q = q_all.sum() - per_unit(q_all[pair_stratum]) + per_unit(q_left)
    den = den_all.sum() - per_unit(den_all[pair_stratum]) + per_unit(den_left)
    df = df_all.sum() - per_unit(df_all[pair_stratum]) + per_unit(df_left)
    ok_unit = (den > 0) & (df >= 1) & (strata_of < 8)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = (q - df) / den
    tau2 = np.where(tau2 > 0.0, tau2, 0.0)  # as max(0.0, tau2)
    out = np.where(ok_unit[unit_codes], tau2[unit_codes], np.nan)
    bounds = np.flatnonzero(np.diff(unit_codes[order])) + 1
    for rows in np.split(order, bounds):
        if strata_of[unit_codes[rows[0]]] < 8:
            continue
        touched = np.unique(codes[rows])
        mine = np.stack([np.bincount(codes[rows], weights=t[rows], minlength=size)[touched]
                         for t in terms])
        q_left, den_left, df_left = parts(by_stratum[:, touched] - mine)
        q = q_all.sum() - q_all[touched].sum() + q_left.sum()
        den = den_all.sum() - den_all[touched].sum() + den_left.sum()
        df = df_all.sum() - df_all[touched].sum() + df_left.sum()
        if den > 0 and df >= 1:
            out[rows] = max(0.0, (q - df) / den)
    return out


def funnel_limits_proportion(
    target: float,
    n: ArrayLike,
    z: float,
    phi: float = 1.0,
    *,
    tau2: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot control limits for a proportion at each sample size.

    Parameters
    ----------
    target : float
        The comparison proportion :math:`\\theta_0` (strictly between 0 and 1).
    n : array-like
        Sample sizes at which to draw the limits (units' denominators, or a grid for the curve).
    z : float
        1.96 for 95% limits, 3.09 for 99.8%.
    phi : float
        Multiplicative over-dispersion from :func:`overdispersion_phi`; the limits are widened
        only when it exceeds 1 (NaN counts as 1).
    tau2 : float, optional
        Additive over-dispersion from :func:`overdispersion_tau2`; when given it is used
        *instead of* ``phi``.

    Returns
    -------
    (low, high)
        Arrays shaped like ``n``, clipped to [0, 1]; NaN where n is 0.

    Notes
    -----
    Normal approximation with over-dispersion:

    .. math:: \\theta_0 \\pm z\\sqrt{\\phi\\,\\theta_0(1-\\theta_0)/n}
              \\quad\\text{or}\\quad \\theta_0 \\pm z\\sqrt{\\theta_0(1-\\theta_0)/n + \\tau^2}

    Hearth's default is the multiplicative :math:`\\phi` (inflated only when :math:`\\phi > 1`),
    which keeps the funnel shape and is what Spiegelhalter recommends first; the additive
    :math:`\\tau^2` is offered when a few very large groups would otherwise be flagged for
    trivial differences. A unit outside the 99.8% limits is worth a conversation, not a verdict.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
           Statistics in Medicine 24(8), 1185-1202.
    .. [2] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
           Quality and Safety in Health Care 14(5), 347-351.
    """
    target = _check_target(target)
    m = _floats(n)
    if np.any(m[np.isfinite(m)] < 0):
        raise ValueError("n must be zero or more")
    variance = target * (1 - target)
    with np.errstate(divide="ignore", invalid="ignore"):
        if tau2 is not None:
            if tau2 < 0:
                raise ValueError(f"tau2 must be zero or more, not {tau2}")
            half = z * np.sqrt(variance / m + tau2)
        else:
            inflate = 1.0 if (phi is None or math.isnan(phi)) else max(float(phi), 1.0)
            half = z * np.sqrt(inflate * variance / m)
        half = np.where(m > 0, half, np.nan)
    return np.clip(target - half, 0.0, 1.0), np.clip(target + half, 0.0, 1.0)


def funnel_limits_mean(
    target: float, sd: float, n: ArrayLike, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot control limits for a mean at each sample size.

    Parameters
    ----------
    target : float
        The comparison mean :math:`\\bar y` (usually the program mean).
    sd : float
        The within-unit standard deviation :math:`s` (pooled across units).
    n : array-like
        Sample sizes.
    z : float
        1.96 for 95% limits, 3.09 for 99.8%.

    Returns
    -------
    (low, high)
        :math:`\\bar y \\pm z\\,s/\\sqrt n`, NaN where n is 0. Not clipped: clip to the score's
        range (e.g. 0-100) when plotting if wanted.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
           Statistics in Medicine 24(8), 1185-1202 (section 2, normal outcomes).
    """
    if not sd >= 0:
        raise ValueError(f"sd must be a standard deviation of zero or more, not {sd!r}")
    m = _floats(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(m > 0, z * sd / np.sqrt(m), np.nan)
    return target - half, target + half


# --------------------------------------------------------------------------------------------
# comparing groups: shrunken estimates


def _index_of(*inputs: ArrayLike) -> pd.Index | None:
    for value in inputs:
        if isinstance(value, pd.Series | pd.DataFrame):
            return value.index
    return None


def shrink_proportions(
    successes: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> pd.DataFrame:
    """Empirical-Bayes (beta-binomial) shrunken proportions with posterior intervals.

    Parameters
    ----------
    successes, n : array-like
        Per unit. Units with n = 0 get the prior (program-wide) estimate and interval.
    confidence : float
        Coverage of the equal-tailed posterior interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate``, ``ci_low``, ``ci_high``, one row per unit (index taken from a
        pandas input when given).

    Notes
    -----
    Prior :math:`\\theta_i \\sim \\text{Beta}(a, b)` fitted by the method of moments:
    :math:`m = \\sum x_i / \\sum n_i` and the between-unit variance

    .. math:: \\hat\\tau^2 = \\frac{\\sum n_i(\\hat p_i - m)^2 - (k-1)m(1-m)}
              {\\sum n_i - \\sum n_i^2/\\sum n_i}

    (the binomial analogue of DerSimonian-Laird), giving prior strength
    :math:`a + b = m(1-m)/\\hat\\tau^2 - 1`, capped at :math:`\\sum n_i` (the prior never counts
    for more than all the data together; the cap applies when :math:`\\hat\\tau^2 \\le 0`, i.e. the
    units differ no more than chance). The posterior is :math:`\\text{Beta}(a + x_i, b + n_i -
    x_i)`: the estimate is its mean :math:`(a + x_i)/(a + b + n_i)`, a weighted average of the
    unit's rate and the program rate in which small units lean more on the program rate.
    When the pooled rate is 0 or 1, ``a`` and ``b`` are floored at 0.5 (Jeffreys) so the
    posterior stays proper.

    Caveat: the interval treats the prior as known (it ignores the uncertainty in a and b), so
    with very few units it is slightly too narrow. Rankings of shrunken estimates are context,
    not a league table.

    References
    ----------
    .. [1] Efron, B., & Morris, C. (1975). Data analysis using Stein's estimator and its
           generalizations. JASA 70(350), 311-319.
    .. [2] Kleinman, J. C. (1973). Proportions with extraneous variance: single and independent
           samples. JASA 68(341), 46-54 (moment estimator).
    """
    index = _index_of(successes, n)
    estimate, low, high = shrunken_proportions(successes, n, confidence)
    return pd.DataFrame({"estimate": estimate, "ci_low": low, "ci_high": high}, index=index)


def shrunken_proportions(
    successes: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`shrink_proportions` as three arrays (estimate, ci_low, ci_high), without building
    a frame: the refresh calls it once per quarter and indicator."""
    _check_confidence(confidence)
    x = _counts(successes, "successes")
    m = _counts(n, "n")
    x, m = np.broadcast_arrays(np.ravel(x), np.ravel(m))
    if np.any(x > m):
        raise ValueError("successes cannot exceed n for any unit")
    use = np.isfinite(x) & np.isfinite(m) & (m > 0)
    if not use.any():
        return (np.full(x.shape, np.nan), np.full(x.shape, np.nan), np.full(x.shape, np.nan))
    xs, ms = x[use], m[use]
    total = ms.sum()
    mean = xs.sum() / total
    k = ms.size
    denom = total - (ms**2).sum() / total
    spread = (ms * (xs / ms - mean) ** 2).sum()
    tau2 = (spread - (k - 1) * mean * (1 - mean)) / denom if denom > 0 else 0.0
    if tau2 > 0 and mean * (1 - mean) > 0:
        strength = min(max(mean * (1 - mean) / tau2 - 1.0, 1e-6), total)
    else:
        strength = total
    a = max(strength * mean, 0.5) if mean in (0.0, 1.0) else strength * mean
    b = max(strength * (1 - mean), 0.5) if mean in (0.0, 1.0) else strength * (1 - mean)
    xx = np.where(use, x, 0.0)
    mm = np.where(use, m, 0.0)
    post_a, post_b = a + xx, b + mm - xx
    tail = (1.0 - confidence) / 2.0
    # the beta quantiles once per distinct (successes, n): many small units share them
    distinct, inverse = np.unique(np.stack([xx, mm], axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    distinct_a = a + distinct[:, 0]
    distinct_b = b + distinct[:, 1] - distinct[:, 0]
    estimate = post_a / (post_a + post_b)
    low = scipy.stats.beta.ppf(tail, distinct_a, distinct_b)[inverse]
    high = scipy.stats.beta.isf(tail, distinct_a, distinct_b)[inverse]
    missing = ~(np.isfinite(x) & np.isfinite(m))
    if missing.any():
        estimate[missing] = low[missing] = high[missing] = np.nan
    return estimate, low, high


def shrink_means(
    means: ArrayLike, standard_errors: ArrayLike, confidence: float = 0.95
) -> pd.DataFrame:
    """Empirical-Bayes (normal-normal) shrunken means with intervals.

    Parameters
    ----------
    means, standard_errors : array-like
        Per unit: the raw mean and its standard error (:math:`s_i/\\sqrt{n_i}`). Units with a
        missing mean or a missing/zero standard error get NaN and do not inform the prior.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate``, ``ci_low``, ``ci_high`` (index from a pandas input when given).

    Notes
    -----
    DerSimonian-Laird between-unit variance with :math:`w_i = 1/se_i^2`:

    .. math:: Q = \\sum w_i (y_i - \\bar y_w)^2, \\qquad
              \\hat\\tau^2 = \\max\\left(0,
              \\frac{Q - (k-1)}{\\sum w_i - \\sum w_i^2/\\sum w_i}\\right)

    Random-effects mean :math:`\\hat\\mu = \\sum w_i^* y_i / \\sum w_i^*` with
    :math:`w_i^* = 1/(se_i^2 + \\hat\\tau^2)`. Each unit is pulled towards it by
    :math:`B_i = se_i^2/(se_i^2 + \\hat\\tau^2)`:

    .. math:: \\tilde\\theta_i = B_i\\hat\\mu + (1-B_i)y_i, \\qquad
              \\operatorname{Var} = (1-B_i)se_i^2 + B_i^2/\\sum w_i^*

    (the second term carries the uncertainty of :math:`\\hat\\mu`, Morris 1983), and the
    interval is :math:`\\tilde\\theta_i \\pm z\\sqrt{\\operatorname{Var}}`. When units differ no
    more than chance (:math:`\\hat\\tau^2 = 0`) every estimate equals :math:`\\hat\\mu`.

    References
    ----------
    .. [1] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
           Controlled Clinical Trials 7(3), 177-188.
    .. [2] Morris, C. N. (1983). Parametric empirical Bayes inference: theory and
           applications. JASA 78(381), 47-55.
    """
    index = _index_of(means, standard_errors)
    estimate, low, high = shrunken_means(means, standard_errors, confidence)
    return pd.DataFrame({"estimate": estimate, "ci_low": low, "ci_high": high}, index=index)


def shrunken_means(
    means: ArrayLike, standard_errors: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`shrink_means` as three arrays (estimate, ci_low, ci_high), without a frame."""
    z = _z(confidence)
    y = np.ravel(_floats(means))
    se = np.ravel(_floats(standard_errors))
    y, se = np.broadcast_arrays(y, se)
    if np.any(se[np.isfinite(se)] < 0):
        raise ValueError("standard_errors must be zero or more")
    use = np.isfinite(y) & np.isfinite(se) & (se > 0)
    estimate = np.full(y.shape, np.nan)
    low = np.full(y.shape, np.nan)
    high = np.full(y.shape, np.nan)
    if use.any():
        yy, v = y[use], se[use] ** 2
        w = 1.0 / v
        fixed = (w * yy).sum() / w.sum()
        q = (w * (yy - fixed) ** 2).sum()
        k = yy.size
        denom = w.sum() - (w**2).sum() / w.sum()
        tau2 = max(0.0, (q - (k - 1)) / denom) if denom > 0 else 0.0
        w_star = 1.0 / (v + tau2)
        mu = (w_star * yy).sum() / w_star.sum()
        shrink = v / (v + tau2)
        est = shrink * mu + (1 - shrink) * yy
        var = (1 - shrink) * v + shrink**2 / w_star.sum()
        estimate[use] = est
        low[use] = est - z * np.sqrt(var)
        high[use] = est + z * np.sqrt(var)
    return estimate, low, high


# --------------------------------------------------------------------------------------------
# trends and retention


def theil_sen_trend(values: Sequence[float], confidence: float = 0.95) -> dict[str, float | int]:
    """Theil-Sen slope over equally spaced observations, with a Kendall test of trend.

    Parameters
    ----------
    values : sequence of float
        In time order (e.g. attendance rate of a group's recent sessions). NaN entries are
        dropped but keep their position on the time axis.
    confidence : float
        Coverage of the slope interval.

    Returns
    -------
    dict
        ``slope``, ``slope_low``, ``slope_high``, ``intercept`` (per step of the index),
        ``tau`` and ``p_value`` (Kendall's tau-b against the index, two-sided) and ``n``.
        With fewer than 3 values everything but ``n`` is NaN; ``tau``/``p_value`` are NaN
        when the values are all equal.

    Notes
    -----
    The slope is the median of all pairwise slopes :math:`(y_j - y_i)/(j - i)`, :math:`i<j`
    (``scipy.stats.theilslopes``, with Sen's distribution-free interval); it ignores up to
    ~29% wild points. Kendall's :math:`\\tau` tests whether values rise or fall with time
    without assuming a straight line (``scipy.stats.kendalltau``).

    References
    ----------
    .. [1] Theil, H. (1950). A rank-invariant method of linear and polynomial regression
           analysis. Proc. KNAW 53.
    .. [2] Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau.
           JASA 63(324), 1379-1389.
    .. [3] Kendall, M. G. (1938). A new measure of rank correlation. Biometrika 30, 81-93.
    """
    _check_confidence(confidence)
    y = _floats(values).ravel()
    x = np.arange(y.size, dtype=float)
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    n = int(y.size)
    nan = math.nan
    result: dict[str, float | int] = {
        "slope": nan, "slope_low": nan, "slope_high": nan, "intercept": nan,
        "tau": nan, "p_value": nan, "n": n,
    }
    if n < 3:
        return result
    fit = scipy.stats.theilslopes(y, x, alpha=confidence)
    result.update(
        slope=float(fit.slope), slope_low=float(fit.low_slope),
        slope_high=float(fit.high_slope), intercept=float(fit.intercept),
    )
    if np.ptp(y) > 0:
        kendall = scipy.stats.kendalltau(x, y)
        result.update(tau=float(kendall.statistic), p_value=float(kendall.pvalue))
    return result


def theil_sen_trends(rows: ArrayLike, confidence: float = 0.95) -> dict[str, np.ndarray]:
    """:func:`theil_sen_trend` of every row of a 2-D array at once, with the same results.

    Parameters
    ----------
    rows : array-like, shape (windows, length)
        One window of equally spaced observations per row, in time order. Rows holding NaN are
        passed to :func:`theil_sen_trend` one at a time.
    confidence : float
        Coverage of the slope interval.

    Returns
    -------
    dict
        ``slope``, ``slope_low``, ``slope_high``, ``intercept``, ``tau``, ``p_value`` and ``n``
        as arrays, one entry per row, each equal to what :func:`theil_sen_trend` returns for
        that row.

    Notes
    -----
    The pairwise slopes, their median and Sen's interval are the operations of
    ``scipy.stats.theilslopes`` done along the rows. Kendall's tau-b and its p-value depend on a
    window only through its count of discordant pairs and the sizes of its tied values (the
    time axis has no ties), so ``scipy.stats.kendalltau`` runs once per distinct such pattern.
    """
    _check_confidence(confidence)
    y = np.asarray(rows, dtype=float)
    if y.ndim != 2:
        raise ValueError(f"rows must be a 2-D array (one window per row), not {y.ndim}-D")
    count, length = y.shape
    names = ("slope", "slope_low", "slope_high", "intercept", "tau", "p_value")
    out = {k: np.full(count, math.nan) for k in names}
    out["n"] = np.zeros(count, dtype=np.int64)
    if count == 0:
        return out
    complete = ~np.isnan(y).any(axis=1)
    for i in np.flatnonzero(~complete):  # rare: the one-at-a-time path drops NaN
        one = theil_sen_trend(y[i], confidence)
        for k in names:
            out[k][i] = one[k]
        out["n"][i] = one["n"]
    idx = np.flatnonzero(complete)
    out["n"][idx] = length
    if length < 3 or idx.size == 0:
        return out
    yc = y[idx]
    x = np.arange(length, dtype=float)
    # pairs (i, j) with x_i - x_j > 0, in the order scipy's boolean mask takes them
    later, earlier = np.nonzero(x[:, np.newaxis] - x > 0)
    slopes = (yc[:, later] - yc[:, earlier]) / (x[later] - x[earlier])
    slopes.sort(axis=1)
    slope = np.median(slopes, axis=1)
    intercept = np.median(yc, axis=1) - slope * np.median(x)
    alpha = 1.0 - confidence if confidence > 0.5 else confidence
    z = scipy.stats.norm.ppf(alpha / 2.0)
    nt = slopes.shape[1]
    low = np.empty(idx.size)
    high = np.empty(idx.size)
    tau = np.full(idx.size, math.nan)
    p_value = np.full(idx.size, math.nan)
    discordant = (yc[:, earlier] > yc[:, later]).sum(axis=1)
    bounds: dict[tuple, tuple[int, int]] = {}
    kendall: dict[tuple, tuple[float, float]] = {}
    for r in range(idx.size):
        values = yc[r]
        _, ties = np.unique(values, return_counts=True)
        ties = tuple(sorted(int(t) for t in ties if t > 1))
        if ties not in bounds:
            sigsq = 1 / 18. * (length * (length - 1) * (2 * length + 5)
                               - sum(k * (k - 1) * (2 * k + 5) for k in ties))
            sigma = np.sqrt(sigsq)
            bounds[ties] = (max(int(np.round((nt + z * sigma) / 2.)) - 1, 0),
                            min(int(np.round((nt - z * sigma) / 2.)), nt - 1))
        lo, hi = bounds[ties]
        low[r], high[r] = slopes[r, lo], slopes[r, hi]
        if np.ptp(values) > 0:
            key = (int(discordant[r]), ties)
            if key not in kendall:
                result = scipy.stats.kendalltau(x, values)
                kendall[key] = (float(result.statistic), float(result.pvalue))
            tau[r], p_value[r] = kendall[key]
    out["slope"][idx] = slope
    out["intercept"][idx] = intercept
    out["slope_low"][idx] = low
    out["slope_high"][idx] = high
    out["tau"][idx] = tau
    out["p_value"][idx] = p_value
    return out


def kaplan_meier(
    durations: ArrayLike, events: ArrayLike, confidence: float = 0.95
) -> pd.DataFrame:
    """Kaplan-Meier survival curve with Greenwood log(-log) confidence intervals.

    Parameters
    ----------
    durations : array-like
        Time each member was followed (e.g. days from joining to leaving, or to the end of the
        data when still active). Must be zero or more.
    events : array-like of bool
        True when the member left (the event); False when still active (censored).
    confidence : float
        Coverage of the pointwise interval.

    Returns
    -------
    pandas.DataFrame
        One row per distinct event time, in order: ``time``, ``at_risk``, ``events``,
        ``survival``, ``ci_low``, ``ci_high``. Empty (with those columns) when there is no
        event. Survival is 1 before the first row and constant between rows.

    Notes
    -----
    With :math:`d_j` events among :math:`n_j` at risk at time :math:`t_j`:

    .. math:: \\hat S(t) = \\prod_{t_j \\le t} (1 - d_j/n_j), \\qquad
              \\hat\\sigma^2(t) = \\sum_{t_j \\le t} \\frac{d_j}{n_j(n_j - d_j)}

    (Greenwood). The log(-log) interval keeps the bounds inside (0, 1):

    .. math:: \\hat S(t)^{\\exp(\\pm z\\,\\hat\\sigma(t)/\\log \\hat S(t))}

    Once :math:`\\hat S = 0` (everyone left) the bounds are NaN. Members censored at an event
    time count as at risk at that time.

    References
    ----------
    .. [1] Kaplan, E. L., & Meier, P. (1958). Nonparametric estimation from incomplete
           observations. JASA 53(282), 457-481.
    .. [2] Greenwood, M. (1926). The natural duration of cancer. Reports on Public Health and
           Medical Subjects 33, HMSO.
    .. [3] Kalbfleisch, J. D., & Prentice, R. L. (2002). The Statistical Analysis of Failure
           Time Data, 2nd ed., Wiley, section 1.4 (log(-log) interval); the 6-MP data of
           Freireich et al. (1963) used in the tests.
    """
    z = _z(confidence)
    t = _floats(durations).ravel()
    e = np.asarray(events).ravel()
    if t.size != e.size:
        raise ValueError(
            f"durations and events must have one entry per member ({t.size} vs {e.size})"
        )
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError("durations must be zero or more with no missing values")
    try:
        e = pd.Series(e).astype(bool).to_numpy() if e.dtype != bool else e
    except (TypeError, ValueError):
        raise ValueError("events must be True (left) or False (still active)") from None
    columns = ["time", "at_risk", "events", "survival", "ci_low", "ci_high"]
    times = np.unique(t[e])
    if times.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
            {"at_risk": "int64", "events": "int64"}
        )
    order = np.sort(t)
    at_risk = t.size - np.searchsorted(order, times, side="left")
    deaths = np.searchsorted(np.sort(t[e]), times, side="right") - np.searchsorted(
        np.sort(t[e]), times, side="left"
    )
    survival = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
        log_s = np.log(survival)
        spread = z * np.sqrt(greenwood) / log_s
        low = survival ** np.exp(-spread)
        high = survival ** np.exp(spread)
    empty = survival <= 0
    low[empty] = np.nan
    high[empty] = np.nan
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype("int64"),
            "events": deaths.astype("int64"),
            "survival": survival,
            "ci_low": low,
            "ci_high": high,
        }
    )


def survival_intervals(
    survival: ArrayLike, greenwood_sum: ArrayLike, n: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Log(-log) Greenwood interval of Kaplan-Meier survivals, vectorised: (low, high).

    Parameters
    ----------
    survival : array-like
        Kaplan-Meier survival :math:`S` per unit (e.g. per group, at one horizon).
    greenwood_sum : array-like
        Greenwood's sum :math:`G = \\sum d_i / (n_i (n_i - d_i))` up to that time.
    n : array-like
        Members followed (for the ends where the formula is undefined).

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
        95% bounds.

    Notes
    -----
    The same interval as :func:`kaplan_meier`:

    .. math:: S^{\\exp(\\pm z \\sqrt{G} / \\log S)}

    Where it is undefined: with no event (:math:`S = 1`) the Wilson interval of n retained out
    of n; with everyone gone (:math:`S = 0`) the Wilson interval of 0 out of n.

    References
    ----------
    .. [1] Kalbfleisch, J. D., & Prentice, R. L. (2002). The Statistical Analysis of Failure
           Time Data, 2nd ed., Wiley, section 1.4 (the log(-log) transform).
    """
    s = np.asarray(survival, dtype=float)
    g = np.asarray(greenwood_sum, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = Z95 * np.sqrt(g) / np.log(s)
        low = s ** np.exp(-spread)
        high = s ** np.exp(spread)
    safe_m = np.where(m > 0, m, 0)
    _, all_low, _ = wilson_intervals(safe_m, safe_m)
    _, _, none_high = wilson_intervals(np.zeros_like(safe_m), safe_m)
    low = np.where(s >= 1, all_low, np.where(s <= 0, 0.0, low))
    high = np.where(s >= 1, 1.0, np.where(s <= 0, none_high, high))
    return low, high
