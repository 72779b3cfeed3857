"""The one suppression rule: every page, CLI output and export passes survey figures through here.

Survey answers are anonymous, and small numbers can still identify people. The rules (BRIEF §6):

1. **Primary suppression.** A survey figure for a unit with fewer than ``k`` responses (default 5,
   configurable, never below 3) is not shown. Free-text comments need ``k_comments`` (10).
2. **Secondary suppression.** Within one parent (all groups of the program in a quarter, or the
   groups of one breakdown), if the hidden units hold between 1 and ``k - 1`` responses together
   (e.g. exactly one small group), the next-smallest visible unit is hidden too. The parent
   total minus every visible unit then always covers at least ``k`` responses, so no hidden
   figure can be recovered by subtraction. Because every visible unit has at least ``k``
   responses, one extra unit per parent is always enough.
3. **Slices.** A filtered slice must hold at least ``k`` responses and leave either none or at
   least ``k`` outside it (total minus slice would otherwise reveal the complement). Slices over
   groups pool only groups whose own figure is shown (:func:`slice_groups`): the difference
   between any two such slices is then a set of figures already on screen, so overlapping
   filters cannot isolate a hidden group.
4. **Pooling.** A small group may be shown for a pair of consecutive quarters pooled together
   (:func:`pool_quarters`), labelled as pooled; see that function for why pairs are fixed.

Suppressed output carries no value, no interval and no exact n - only a status and a label.

The guarantee is against subtraction (differencing) within and across the tables Hearth
publishes for one quarter; it is not a formal privacy proof against every outside source.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hearth.calendar import parse_quarter
from hearth.config import MIN_ALLOWED_K

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_K",
    "DEFAULT_K_COMMENTS",
    "INSUFFICIENT_LABEL",
    "MIN_ALLOWED_K",
    "POOLED_LABEL",
    "SECONDARY_LABEL",
    "HIDDEN_NOTE",
    "SUPPRESSED_LABEL",
    "SliceDecision",
    "comments_visible",
    "is_missing",
    "overlap_allowed",
    "pool_quarters",
    "public_indicator",
    "slice_allowed",
    "slice_groups",
    "suppress_small_cells",
    "suppression_label",
    "validate_k",
]

DEFAULT_K = 5
_NO_KNOWN_GROUP = object()  # the unit of responses naming no known group (never a group id)
DEFAULT_K_COMMENTS = 10
SECONDARY_LABEL = "hidden so that a smaller group's answers stay private"
INSUFFICIENT_LABEL = "can't tell yet"
POOLED_LABEL = "two quarters pooled"


def HIDDEN_NOTE(k: int = DEFAULT_K) -> str:  # noqa: N802 - reads as the constant it is
    """The one note every hidden survey figure carries when published, whether it was hidden
    for its own few responses or to protect a smaller group's: the two notes apart said which
    hidden group was the small one (at least k in the other), and with the program minus the
    shown groups that determined both counts (A + B = 6, A < 5 <= B: A = 1, B = 5)."""
    return f"fewer than {validate_k(k)} responses here, or hidden so that a smaller group's " \
        "answers stay private"


def SUPPRESSED_LABEL(k: int = DEFAULT_K) -> str:  # noqa: N802 - reads as the constant it replaces
    """What a suppressed cell says instead of a number: ``"fewer than 5 responses"``."""
    return f"fewer than {validate_k(k)} responses"


def validate_k(k: int) -> int:
    """The anonymity threshold as an int; ValueError when it is below 3 or not a whole number."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        if isinstance(k, float) and k.is_integer():
            k = int(k)
        else:
            raise ValueError(f"k (minimum responses) must be a whole number, not {k!r}")
    if k < MIN_ALLOWED_K:
        raise ValueError(
            f"k = {k} is below {MIN_ALLOWED_K}: Hearth never shows survey figures for fewer than "
            f"{MIN_ALLOWED_K} responses; raise anonymity.min_responses in hearth.toml"
        )
    return int(k)


def suppression_label(reason: str | None, k: int = DEFAULT_K) -> str | None:
    """The label for a cell given its ``suppression`` reason ('primary', 'secondary' or None)."""
    if reason == "primary":
        return SUPPRESSED_LABEL(k)
    if reason == "secondary":
        return SECONDARY_LABEL
    if is_missing(reason):
        return None
    raise ValueError(f"suppression reason must be 'primary', 'secondary' or None, not {reason!r}")


# --------------------------------------------------------------------------------------------
# tables


def suppress_small_cells(
    frame: pd.DataFrame,
    *,
    n_col: str = "n",
    value_cols: Sequence[str] = ("value", "ci_low", "ci_high"),
    parent_cols: Sequence[str] = (),
    unit_col: str | None = None,
    k: int = DEFAULT_K,
) -> pd.DataFrame:
    """Primary and secondary suppression of a table of survey figures.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit (and per parent), with the response count in ``n_col``.
    n_col : str
        Responses behind each figure. Missing n counts as 0 responses.
    value_cols : sequence of str
        Columns blanked on suppressed rows (value, interval, and anything else derived from the
        answers, e.g. ``delta``, ``verdict``, ``p_adjusted``). Each must exist.
    parent_cols : sequence of str
        Columns naming the parent within which hidden units must not be recoverable by
        subtraction, e.g. ``("quarter", "indicator")``. Empty: the whole frame is one parent.
    unit_col : str, optional
        Column naming the unit (e.g. ``"group_id"``). Rows where it is missing are the parent's
        own total (e.g. the whole program): they take primary suppression only and are not
        counted among the siblings.
    k : int
        Minimum responses (never below 3).

    Returns
    -------
    pandas.DataFrame
        A copy with ``status`` ('ok' or 'suppressed'; an existing status such as
        'insufficient' is kept on rows that are not suppressed) and ``suppression``
        ('primary', 'secondary' or missing). On suppressed rows ``n_col`` (nullable Int64)
        and every value column are missing.

    Notes
    -----
    Primary: hide every unit with :math:`n < k`. Secondary, per parent: with :math:`H` the
    responses held by hidden units, while :math:`0 < H < k` hide the visible unit with the
    fewest responses (ties: the first row). Every visible unit has :math:`n \\ge k`, so one
    round suffices and the parent total minus all visible units always covers 0 or at least
    :math:`k` responses. Units with 0 responses have no figure to protect and do not trigger
    secondary suppression.
    """
    # pandas and numpy deferred: the CLI's read path releases single figures only, and must
    # start fast
    import numpy as np
    import pandas as pd

    k = validate_k(k)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("suppress_small_cells needs a DataFrame of figures")
    needed = [n_col, *value_cols, *parent_cols, *([unit_col] if unit_col else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"suppress_small_cells: column(s) {missing} not in the table "
            f"(it has {list(frame.columns)}); pass n_col/value_cols/parent_cols that exist"
        )
    out = frame.copy()
    try:
        n = pd.to_numeric(out[n_col], errors="raise").astype("Float64")
    except (TypeError, ValueError):
        raise ValueError(f"suppress_small_cells: {n_col!r} must hold response counts") from None
    count = n.fillna(0).to_numpy(dtype=float)
    is_total = (
        out[unit_col].isna().to_numpy() if unit_col else np.zeros(len(out), dtype=bool)
    )
    primary = count < k
    secondary = np.zeros(len(out), dtype=bool)
    if "status" in out.columns:  # a table suppressed before stays suppressed (idempotent)
        was_suppressed = out["status"].eq("suppressed").fillna(False).to_numpy(dtype=bool)
        if "suppression" in out.columns:
            was_secondary = out["suppression"].eq("secondary").fillna(False).to_numpy(dtype=bool)
            secondary |= was_suppressed & was_secondary
            primary &= ~secondary
    keys = [out[c].reset_index(drop=True) for c in parent_cols]
    position = np.arange(len(out))
    for _ in range(len(out) + 1):  # one round suffices (see Notes); the loop is a safeguard
        hidden = (primary | secondary) & ~is_total
        held = pd.Series(np.where(hidden, count, 0.0))
        if keys:
            parent_hidden = held.groupby(keys, dropna=False, sort=False).transform("sum").to_numpy()
        else:
            parent_hidden = np.full(len(out), held.sum())
        exposed = (parent_hidden > 0) & (parent_hidden < k)
        candidates = exposed & ~hidden & ~is_total
        if not candidates.any():
            break
        pick = pd.DataFrame({"n": count, "pos": position})
        for i, key in enumerate(keys):
            pick[f"_parent{i}"] = key
        pick = pick[candidates].sort_values(["n", "pos"], kind="stable")
        if keys:
            parents = [f"_parent{i}" for i in range(len(keys))]
            chosen = pick.groupby(parents, dropna=False, sort=False).head(1)["pos"].to_numpy()
        else:
            chosen = pick["pos"].to_numpy()[:1]
        secondary[chosen] = True
    suppressed = primary | secondary
    mask = pd.Series(suppressed, index=out.index)
    out[n_col] = n.round().astype("Int64").mask(mask)
    for column in value_cols:
        out[column] = out[column].mask(mask)
    previous = out["status"] if "status" in out.columns else pd.Series(None, index=out.index)
    status = previous.astype("str").where(previous.notna(), "ok").mask(mask, "suppressed")
    out["status"] = status.astype("str")
    reason = np.where(primary, "primary", np.where(secondary, "secondary", None))
    out["suppression"] = pd.Series(reason, index=out.index).astype("str").where(suppressed)
    return out


# --------------------------------------------------------------------------------------------
# single figures


def is_missing(value: Any) -> bool:
    """None, NaN or pandas' NA: no figure.

    Without importing pandas or numpy (the CLI's read commands must start fast): pandas' NA can
    only exist once pandas is loaded, and numpy's floats convert to float."""
    if value is None:
        return True
    pandas = sys.modules.get("pandas")
    if pandas is not None and value is pandas.NA:
        return True
    try:
        return math.isnan(value)
    except (TypeError, OverflowError):
        return False


def public_indicator(
    value: float | None,
    n: int | None,
    ci_low: float | None,
    ci_high: float | None,
    k: int = DEFAULT_K,
    *,
    enough_data: bool = True,
    hidden: bool = False,
    pooled: bool = False,
) -> dict[str, Any]:
    """One survey figure as it may be shown or exported (JSON-safe: None, never NaN).

    Parameters
    ----------
    value, n, ci_low, ci_high
        The figure, its responses and interval (NaN/None allowed).
    k : int
        Minimum responses.
    enough_data : bool
        False when the statistics say there is too little data for a number (status
        'insufficient', shown as "can't tell yet").
    hidden : bool
        True when :func:`suppress_small_cells` hid this unit by secondary suppression.
    pooled : bool
        True when the figure pools two quarters (:func:`pool_quarters`).

    Returns
    -------
    dict
        ``{"value", "n", "ci_low", "ci_high", "status", "label", "pooled"}`` where status is
        'ok', 'suppressed' or 'insufficient'. Suppressed: value, n and interval are None and
        the label says why. Insufficient: value and interval None, n shown (it is at least k).
    """
    k = validate_k(k)
    count = 0 if is_missing(n) else int(n)
    if count < 0:
        raise ValueError(f"n must be a number of responses of zero or more, not {n!r}")
    if hidden or count < k:
        return {
            "value": None, "n": None, "ci_low": None, "ci_high": None,
            "status": "suppressed",
            "label": SUPPRESSED_LABEL(k) if count < k else SECONDARY_LABEL,
            "pooled": bool(pooled),
        }
    if not enough_data or is_missing(value):
        return {
            "value": None, "n": count, "ci_low": None, "ci_high": None,
            "status": "insufficient", "label": INSUFFICIENT_LABEL, "pooled": bool(pooled),
        }
    return {
        "value": float(value),
        "n": count,
        "ci_low": None if is_missing(ci_low) else float(ci_low),
        "ci_high": None if is_missing(ci_high) else float(ci_high),
        "status": "ok",
        "label": POOLED_LABEL if pooled else None,
        "pooled": bool(pooled),
    }


def comments_visible(n_responses: int, k_comments: int = DEFAULT_K_COMMENTS) -> bool:
    """True when a unit has enough responses (default 10) for its free-text comments to show."""
    validate_k(k_comments)
    return (0 if is_missing(n_responses) else int(n_responses)) >= k_comments


# --------------------------------------------------------------------------------------------
# slices


def slice_allowed(slice_n: int, total_n: int, k: int = DEFAULT_K) -> bool:
    """May a filtered slice's survey figure be shown?

    True when the slice holds at least ``k`` responses and the responses outside it
    (``total_n - slice_n``) are either none or at least ``k``: otherwise the total minus the
    slice would reveal the few people outside it.
    """
    k = validate_k(k)
    slice_n, total_n = int(slice_n), int(total_n)
    if slice_n < 0 or total_n < slice_n:
        raise ValueError(
            f"slice_allowed: a slice of {slice_n} responses cannot come from a total of {total_n}; "
            "pass the slice's responses and the responses of the whole it was filtered from"
        )
    outside = total_n - slice_n
    return slice_n >= k and (outside == 0 or outside >= k)


def overlap_allowed(a_n: int, b_n: int, shared_n: int, k: int = DEFAULT_K) -> bool:
    """May two overlapping slices both be shown?

    ``a_n`` and ``b_n`` are the slices' responses and ``shared_n`` the responses in both. True
    only when each slice's part outside the other (``a_n - shared_n``, ``b_n - shared_n``) is
    empty or holds at least ``k`` responses; otherwise the difference of the two figures
    isolates fewer than ``k`` people.
    """
    k = validate_k(k)
    a_n, b_n, shared_n = int(a_n), int(b_n), int(shared_n)
    if shared_n < 0 or shared_n > min(a_n, b_n):
        raise ValueError(
            f"overlap_allowed: {shared_n} shared responses cannot exceed either slice "
            f"({a_n}, {b_n})"
        )
    return all(part == 0 or part >= k for part in (a_n - shared_n, b_n - shared_n))


@dataclass(frozen=True)
class SliceDecision:
    """Which groups a filtered slice pools, and whether its figure may be shown."""

    groups: tuple[Hashable, ...]  # groups whose responses the slice pools (sorted)
    n: int                        # responses pooled
    left_out: int                 # selected groups left out because their own figure is hidden
    allowed: bool                 # the slice's survey figures may be shown
    reason: str | None            # why not, in plain words (None when allowed)


def slice_groups(
    group_n: Mapping[Hashable, int] | pd.Series,
    selected: Iterable[Hashable],
    *,
    k: int = DEFAULT_K,
    other_n: int = 0,
) -> SliceDecision:
    """The safe way to compute a survey figure for a filtered set of groups.

    Parameters
    ----------
    group_n : mapping or Series
        Responses per group for the whole program this quarter (every group, not only the
        selected ones).
    selected : iterable
        The groups the filter selects.
    k : int
        Minimum responses.
    other_n : int
        Responses in the program total that name no known group: a unit of their own in
        suppression (program minus the shown groups must not give them back).

    Returns
    -------
    SliceDecision
        The slice pools only selected groups whose own figure is shown at program level
        (after primary and secondary suppression over all groups); it is allowed when
        :func:`slice_allowed` holds against the program total.

    Notes
    -----
    Any two slices built this way differ only by groups whose figures are already shown, so
    comparing two overlapping filters never isolates a hidden group; and the program total
    minus any slice still contains every hidden group (together 0 or at least ``k``
    responses). Including hidden groups in slices would break this: filters "video groups"
    and "video groups in English" would differ by exactly the hidden groups between them.
    """
    # deferred, as in suppress_small_cells
    import pandas as pd

    k = validate_k(k)
    counts = pd.Series(group_n, dtype="float64").fillna(0)
    # The responses that name no known group are a unit of their own: a sibling of the groups
    # in suppression, never pooled into a slice.
    table = pd.DataFrame({"unit": [*counts.index, _NO_KNOWN_GROUP],
                          "n": [*counts.to_numpy(), float(other_n)],
                          "group": [True] * len(counts) + [False]})
    shown = suppress_small_cells(table, value_cols=(), k=k)
    visible = table.loc[shown["status"].eq("ok").to_numpy() & table["group"].to_numpy()]
    chosen = list(dict.fromkeys(selected))
    unknown = [g for g in chosen if g not in counts.index]
    if unknown:
        raise ValueError(f"slice_groups: selected group(s) {unknown[:5]} have no response count")
    return slice_of_shown_groups(
        dict(zip(visible["unit"], visible["n"].astype(int), strict=True)), chosen,
        total_n=int(counts.sum()) + int(other_n), k=k,
    )


def slice_of_shown_groups(
    shown_n: Mapping[Hashable, int], selected: Iterable[Hashable], *, total_n: int,
    k: int = DEFAULT_K,
) -> SliceDecision:
    """:func:`slice_groups` when the groups' own figures were already decided.

    ``shown_n`` holds the groups whose own figure is shown (after primary and secondary
    suppression, as published) with their response counts; ``total_n`` is the program
    total. A published table already records that decision, so a page need not remake it
    over every group of the program for each filter.
    """
    k = validate_k(k)
    chosen = list(dict.fromkeys(selected))
    pooled = tuple(sorted((g for g in chosen if g in shown_n), key=str))
    n = int(sum(shown_n[g] for g in pooled))
    total = int(total_n)
    left_out = len(chosen) - len(pooled)
    if slice_allowed(n, total, k):
        return SliceDecision(pooled, n, left_out, True, None)
    if n < k:
        reason = SUPPRESSED_LABEL(k) + " in this selection"
    else:
        reason = f"fewer than {k} responses would remain outside this selection"
    return SliceDecision(pooled, n, left_out, False, reason)


# --------------------------------------------------------------------------------------------
# pooling


def pool_quarters(
    frame: pd.DataFrame,
    *,
    unit_cols: Sequence[str] = ("group_id",),
    quarter_col: str = "quarter",
    n_col: str = "n",
    sum_cols: Sequence[str] = (),
    k: int = DEFAULT_K,
    each_below_k: bool = True,
) -> pd.DataFrame:
    """Pool a small unit's two consecutive quarters so it can be shown, labelled as pooled.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit and quarter (labels like "2025Q3") with responses ``n_col`` and
        additive sufficient statistics ``sum_cols`` (e.g. sum of scores, sum of squared scores,
        count agreeing), from which the caller recomputes the pooled figure.
    unit_cols, quarter_col, n_col, sum_cols
        Column names.
    k : int
        Minimum responses.
    each_below_k : bool
        Pool only pairs in which each quarter has fewer than ``k`` responses (the default).
        With False, any pair of two quarters that each have responses and together hold at
        least ``k``: the caller restricts it to pairs hidden in both quarters, for whatever
        reason (``metrics.release``: a pooled figure must not say which hidden group is the
        small one).

    Returns
    -------
    pandas.DataFrame
        One row per pooled unit: ``unit_cols``, ``quarter_col`` (the *second* quarter of the
        pair, where the pooled figure is shown), ``pooled_quarters`` ("2025Q1+2025Q2"),
        ``n_col`` and ``sum_cols`` summed over the pair, and ``pooled`` = True. Only pairs in
        which *each* quarter has fewer than ``k`` responses and the pair together has at least
        ``k`` are returned.

    Notes
    -----
    Pairs are fixed - Q1+Q2 and Q3+Q4 of the (fiscal) year - and never overlap: with rolling
    pairs, Q2+Q3 and Q3+Q4 would differ by Q4 minus Q2. A quarter that was shown on its own
    (at least ``k`` responses) is never pooled with a small neighbour, since the pooled figure
    minus the shown one would reveal the small quarter.
    """
    # deferred, as in suppress_small_cells
    import pandas as pd

    k = validate_k(k)
    needed = [*unit_cols, quarter_col, n_col, *sum_cols]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"pool_quarters: column(s) {missing} not in the table {list(frame.columns)}"
        )
    columns = [*unit_cols, quarter_col, "pooled_quarters", n_col, *sum_cols, "pooled"]
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    data = frame[needed].copy()
    parsed = [parse_quarter(q) for q in data[quarter_col]]
    data["_year"] = [y for y, _ in parsed]
    data["_half"] = [(q - 1) // 2 for _, q in parsed]
    data["_second"] = [q % 2 == 0 for _, q in parsed]
    data[n_col] = pd.to_numeric(data[n_col]).fillna(0)
    keys = [*unit_cols, "_year", "_half"]
    if data.duplicated([*unit_cols, quarter_col]).any():
        raise ValueError("pool_quarters: more than one row for a unit and quarter; aggregate first")
    grouped = data.groupby(keys, dropna=False, sort=True)
    summary = grouped.agg(
        **{n_col: (n_col, "sum"), "_max": (n_col, "max"), "_min": (n_col, "min"),
           "_quarters": (n_col, "size"), "_has_second": ("_second", "any")},
        **{c: (c, "sum") for c in sum_cols},
    )
    ok = (summary[n_col] >= k) & summary["_has_second"]
    if each_below_k:
        ok &= summary["_max"] < k
    else:  # both quarters answered: a pair of one quarter would be that quarter's figure
        ok &= (summary["_quarters"] == 2) & (summary["_min"] > 0)
    summary = summary[ok].reset_index()
    first_q = summary["_half"] * 2 + 1
    summary[quarter_col] = summary["_year"].astype(str) + "Q" + (first_q + 1).astype(str)
    summary["pooled_quarters"] = (
        summary["_year"].astype(str) + "Q" + first_q.astype(str) + "+" + summary[quarter_col]
    )
    summary[n_col] = summary[n_col].astype("int64")
    summary["pooled"] = True
    return summary[columns].reset_index(drop=True)
