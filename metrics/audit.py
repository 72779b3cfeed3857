"""`hearth privacy-check`: is any hidden survey figure determined by the released ones?

Every figure Hearth publishes is a sum of ledger entries (metrics.release): a group's figure is
its own entry, the program's is every unit's, a category's or a selection's is its released
groups'. Each entry is a vector of additive statistics (responses n, sum of scores, sum of
squares, count agreeing), and every one of them obeys the same sums, so one coefficient
matrix describes them all: an attacker who sees every released figure of every publication
knows ``A x`` for the rows ``A`` of the shown figures, and a hidden figure ``t x`` is
determined exactly when ``t`` lies in the row space of ``A`` (rank test).

The entries are versioned by the publication they last moved in, so two publications of the
same quarter share the entries that did not move and the check covers differencing over time
as well. Comment lists are checked the same way (a list is a sum of units' lists).

The check eliminates directly known entries first (a shown single-unit figure), then tests the
remaining hidden rows against the null space of what is left, per connected block of entries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

TOLERANCE = 1e-8


@dataclass(frozen=True)
class Finding:
    """A hidden figure the released ones determine."""

    publication: int
    quarter: str
    indicator: str
    figure: str

    def as_dict(self) -> dict:
        return {"publication": self.publication, "quarter": self.quarter,
                "indicator": self.indicator, "figure": self.figure}


def read_figures(con: duckdb.DuckDBPyConnection, latest_only: bool = False) -> pd.DataFrame:
    """release.figures (every publication, or the latest one only)."""
    sql = "SELECT publication, quarter, indicator, figure, role, terms FROM release.figures"
    if latest_only:
        sql += " WHERE publication = (SELECT max(publication) FROM release.figures)"
    return con.execute(sql + " ORDER BY publication, indicator, quarter, figure").df()


def read_figures_empty() -> pd.DataFrame:
    """No publication yet."""
    return pd.DataFrame(columns=["publication", "quarter", "indicator", "figure", "role", "terms"])


def determined_hidden(figures: pd.DataFrame) -> list[Finding]:
    """Hidden figures (role 'hidden') determined by the shown ones (role 'shown').

    Parameters
    ----------
    figures : DataFrame
        publication, quarter, indicator, figure, role ('shown', 'hidden' or 'allowed') and
        terms (the ledger entries the figure sums). Indicators are independent systems.
    """
    found: list[Finding] = []
    # an allowed figure (no responses, or responses naming no known group) takes no part:
    # neither a row of the system nor a figure to protect; about half of every publication
    figures = figures[figures["role"] != "allowed"]
    for _, part in figures.groupby("indicator", sort=True):
        found += _check_system(part)
    return found


def _check_system(part: pd.DataFrame) -> list[Finding]:
    # columns as Python lists: iterating Arrow-backed string columns row by row (itertuples)
    # was half of the audit at 10,000 groups
    roles = part["role"].tolist()
    every_terms = part["terms"].tolist()
    columns = [part[c].tolist() for c in ("publication", "quarter", "indicator", "figure")]

    def finding(i: int) -> Finding:
        publication, quarter, indicator, figure = (c[i] for c in columns)
        return Finding(int(publication), str(quarter), str(indicator), str(figure))

    # each figure's entries as a set, one object per distinct sum: the publications of a
    # quarter repeat most figures (an entry that did not move keeps its term), so at the third
    # publication of a 10,000-group program 110,000 figures hold 20,000 distinct sums, and each
    # distinct hidden sum is tested once below (the row space is the same for all of them)
    distinct: dict[frozenset, frozenset] = {}
    sums = [distinct.setdefault(s, s) for s in (
        frozenset(t.tolist() if isinstance(t, np.ndarray) else t) for t in every_terms)]
    shown = {s for s, r in zip(sums, roles, strict=True) if r == "shown"}
    known: set[str] = set()
    rows = [set(r) for r in shown if r]
    # entries a shown single-unit figure gives directly; repeat as rows shrink to one entry
    changed = True
    while changed:
        changed = False
        remaining = []
        for row in rows:
            row = row - known
            if len(row) == 1:
                known |= row
                changed = True
            elif row:
                remaining.append(row)
        rows = remaining
    rows = [frozenset(r) for r in {frozenset(r) for r in rows}]
    targets: list[tuple[int, frozenset]] = []  # (first row, entries not known) per distinct sum
    target_of: dict[frozenset, int] = {}  # a distinct hidden sum -> its target (-1: all known)
    hidden: list[tuple[int, int]] = []  # (row, its target)
    for i, role in enumerate(roles):
        if role != "hidden" or not sums[i]:
            continue
        j = target_of.get(sums[i])
        if j is None:
            rest = sums[i] - known
            j = target_of[sums[i]] = len(targets) if rest else -1
            if rest:
                targets.append((i, frozenset(rest)))
        hidden.append((i, j))
    # every entry it sums is known
    findings = [finding(i) for i, j in hidden if j < 0]
    if not targets or not rows:
        return findings
    # connected blocks of entries (rows sharing an entry), so each rank test stays small
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        first, *others = row
        for other in others:
            parent[root(other)] = root(first)
    blocks: dict[str, list[frozenset]] = {}
    for row in rows:
        blocks.setdefault(root(next(iter(row))), []).append(row)
    # each target's entries split by block; every block's targets are then tested at once
    # (one sparse product per block instead of one small product per hidden figure)
    pending: dict[str, list[tuple[int, list[str]]]] = {}
    candidates: list[int] = []
    for i, (_, rest) in enumerate(targets):
        if any(t not in parent for t in rest):
            continue  # an entry no shown figure mentions: it cannot be determined
        by_block: dict[str, list[str]] = {}
        for t in rest:
            by_block.setdefault(root(t), []).append(t)
        candidates.append(i)
        for block, part_terms in by_block.items():
            pending.setdefault(block, []).append((i, part_terms))
    determined = np.ones(len(targets), dtype=bool)  # each block's part must be determined
    for block, tests in pending.items():
        held = RowSpace(blocks[block]).holds_many([part_terms for _, part_terms in tests])
        for (i, _), ok in zip(tests, held, strict=True):
            if not ok:
                determined[i] = False
    is_candidate = np.zeros(len(targets), dtype=bool)
    is_candidate[candidates] = True
    findings += [finding(i) for i, j in hidden if j >= 0 and is_candidate[j] and determined[j]]
    return findings


class RowSpace:
    """The row space of one block of shown figures (rows: sets of entries), for membership tests.

    A block is often one long row: at 10,000 groups a quarter's program figure minus its shown
    groups sums thousands of hidden entries. Its null space is an n x n matrix (``null_space``
    of a 1 x 9,800 row: 770 MB and about a minute), so the basis is taken on the smaller side:
    an orthonormal basis of the row space when there are fewer rows than entries (an economy
    SVD of the n x r transpose, O(n r^2)), the null space otherwise. Either answers the same
    question exactly: is a 0/1 vector over the entries a combination of the rows?
    """

    def __init__(self, rows: Iterable[frozenset]) -> None:
        # scipy.linalg deferred: only solving a system needs it, not importing the release layer
        from scipy.linalg import null_space, orth

        rows = list(rows)
        entries = sorted({t for row in rows for t in row})
        self.index = {t: i for i, t in enumerate(entries)}
        matrix = np.zeros((len(rows), len(entries)))
        for i, row in enumerate(rows):
            for t in row:
                matrix[i, self.index[t]] = 1.0
        self.matrix_shape = matrix.shape
        self.by_rows = len(rows) < len(entries)
        self.basis = orth(matrix.T) if self.by_rows else null_space(matrix)

    def holds(self, terms: Iterable[str]) -> bool:
        """True when the sum of these entries is determined by the block's rows."""
        at = [self.index[t] for t in terms]
        if self.by_rows:
            # in the row space when projecting onto it loses nothing: with an orthonormal basis
            # Q, |v - QQ'v|^2 = |v|^2 - |Q'v|^2, and Q'v of a 0/1 vector is a sum of Q's rows
            projected = self.basis[at].sum(axis=0)
            return bool(len(at) - projected @ projected < TOLERANCE)
        return not self.basis.size or bool(np.abs(self.basis[at].sum(axis=0)).max() < TOLERANCE)

    def holds_many(self, tests: list[list[str]]) -> np.ndarray:
        """`holds` for many sets of entries: the single entries (most hidden figures are one
        group's) all at once, row by row of the basis; larger sums one by one, as `holds`
        (numpy's pairwise sum of their basis rows keeps the test within TOLERANCE over
        thousands of entries, where a running sum would not)."""
        out = np.ones(len(tests), dtype=bool)
        if not tests or (not self.by_rows and not self.basis.size):
            return out
        single = [i for i, terms in enumerate(tests) if len(terms) == 1]
        if single:
            rows = self.basis[[self.index[tests[i][0]] for i in single]]
            if self.by_rows:
                held = 1.0 - np.einsum("ij,ij->i", rows, rows) < TOLERANCE
            else:
                held = np.abs(rows).max(axis=1) < TOLERANCE
            out[single] = held
        for i, terms in enumerate(tests):
            if len(terms) != 1:
                out[i] = self.holds(terms)
        return out


def _shown_as_last_published(figures: pd.DataFrame) -> set[tuple[str, str, str]]:
    """(quarter, indicator, figure) shown by each quarter's latest publication.

    Each quarter against its own latest publication: an incremental refresh publishes only
    the quarters it rebuilds (metrics.release.record_figures), so the earlier quarters still
    stand as an earlier publication released them.
    """
    latest_of = figures.groupby("quarter")["publication"].transform("max")
    latest = figures[figures["publication"] == latest_of]
    return {(q, i, f) for q, i, f, r in latest[["quarter", "indicator", "figure", "role"]]
            .itertuples(index=False) if r == "shown"}


def shown_is_released(figures: pd.DataFrame, snapshot: duckdb.DuckDBPyConnection) -> list[str]:
    """Survey figures in an audience's snapshot that the release layer did not release.

    Compares marts.indicators' shown survey rows of the snapshot with the 'shown' group and
    program figures of each quarter's latest publication; lists any extra one as "quarter
    indicator figure". The snapshot still shows earlier quarters as an earlier publication
    released them (see `_shown_as_last_published`).
    """
    released = _shown_as_last_published(figures)
    keys = tuple(sorted(figures["indicator"].unique()))
    if not keys:
        return []
    rows = snapshot.execute(
        "SELECT quarter, indicator, group_id FROM marts.indicators WHERE status <> 'suppressed' "
        "AND NOT pooled AND indicator IN (SELECT unnest(?::VARCHAR[]))", [list(keys)],
    ).fetchall()
    extra = []
    for quarter, indicator, group in rows:
        figure = "program" if group is None else f"group:{group}"
        if (quarter, indicator, figure) not in released:
            extra.append(f"{quarter} {indicator} {figure}")
    return extra


def unreleased_reliability(figures: pd.DataFrame, snapshot: duckdb.DuckDBPyConnection
                           ) -> list[str]:
    """Reliability rows (alpha, n) of a snapshot whose quarter's program figure of that
    construct the latest publication does not show: "quarter reliability construct" each.

    Alpha and its n are statistics of the entries the program's figure sums
    (metrics.release.freeze_answers), so a reliability row adds no equation while that figure
    is shown, and gives a hidden count when it is not.
    """
    latest_of = figures.groupby("quarter")["publication"].transform("max")
    latest = figures[figures["publication"] == latest_of]
    shown = {(q, i) for q, i, f, r in latest[["quarter", "indicator", "figure", "role"]]
             .itertuples(index=False) if f == "program" and r == "shown"}
    rows = snapshot.execute(
        "SELECT DISTINCT quarter, construct FROM marts.reliability "
        "WHERE n IS NOT NULL OR alpha IS NOT NULL ORDER BY ALL").fetchall()
    return [f"{q} reliability {c}" for q, c in rows
            if (q, "loneliness_share" if c == "loneliness" else c) not in shown]


def unreleased_citations(figures: pd.DataFrame, cited: Iterable[dict]) -> list[str]:
    """Figures a publication built on the released ones (the community update) cites that the
    last publication of their quarter does not show: "quarter indicator figure" each.

    ``cited`` holds {quarter, indicator, figure} named as in release.figures ("program",
    "group:g01", indicator "comments" for a comment list). A cited figure that is shown adds
    no equation to what an attacker already has, so the rank test above covers it too.
    Each quarter is read from its own last publication, as in `shown_is_released`.
    """
    if figures.empty:
        return [f"{c['quarter']} {c['indicator']} {c['figure']}" for c in cited]
    shown = _shown_as_last_published(figures)
    return [f"{c['quarter']} {c['indicator']} {c['figure']}" for c in cited
            if (c["quarter"], c["indicator"], c["figure"]) not in shown]


def tests_of_unreleased(figures: pd.DataFrame, snapshot: duckdb.DuckDBPyConnection) -> list[str]:
    """Actions' survey-index tests in an audience's snapshot (marts.action_survey_tests) whose
    before or after figure the release layer did not show: a verdict on a hidden figure would
    leak it. "quarter indicator figure (tested against quarter)" each, checked like
    shown_is_released, each quarter against its own latest publication."""
    released = _shown_as_last_published(figures) if not figures.empty else set()
    rows = snapshot.execute("SELECT group_id, indicator, before_quarter, after_quarter "
                            "FROM marts.action_survey_tests").fetchall()
    extra = []
    for group, indicator, before, after in rows:
        figure = "program" if group is None else f"group:{group}"
        for quarter, other in ((before, after), (after, before)):
            if (quarter, indicator, figure) not in released:
                extra.append(f"{quarter} {indicator} {figure} (tested against {other})")
    return extra


EMAIL_PATTERN = r"[^\s@<>(),;:']+@[^\s@<>(),;:']+\.[A-Za-z]{2,}"


def _column_problems(snapshot: duckdb.DuckDBPyConnection, schema: str, table: str,
                     match_members: bool) -> list[str]:
    """A table's text and list columns holding values that look like emails, and (with
    ``match_members``) values that are a rostered member's name (_hearth_member_names) or any
    member id: one scan of the table counts them all."""
    columns = [c for (c,) in snapshot.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? AND (data_type LIKE 'VARCHAR%' "
        "OR data_type LIKE '%[]') ORDER BY column_index", [schema, table]).fetchall()]
    if not columns:
        return []
    counts = []
    for column in columns:
        text = f'CAST("{column}" AS VARCHAR)'
        counts.append(f"count(*) FILTER (WHERE regexp_matches({text}, $pattern))")
        if match_members:
            counts.append(
                f'count(*) FILTER (WHERE "{column}" IS NOT NULL AND '
                + ("true" if column.endswith("member_id") else
                   f"{text} IN (SELECT name FROM _hearth_member_names)") + ")")
    found = iter(snapshot.execute(f"SELECT {', '.join(counts)} FROM {schema}.{table}",
                                  {"pattern": EMAIL_PATTERN}).fetchall()[0])
    problems = []
    for column in columns:
        if hits := next(found):
            problems.append(f"{schema}.{table}.{column} holds {hits} value(s) that look like "
                            "emails")
        if match_members and (named := next(found)):
            problems.append(f"{schema}.{table}.{column} names {named} member(s): member-level "
                            "views are for a coach's own groups only")
    return problems


def _name_words(text: str) -> list[str]:
    """Words of `text` in lower case without accents ('José Núñez' -> ['jose', 'nunez'])."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain.lower())


def comments_naming(snapshot: duckdb.DuckDBPyConnection, roster: Iterable[str]) -> int:
    """How many distinct comments of the snapshot's marts.comments hold a rostered person's
    first and last name together (case and accents ignored). Comments are scrubbed at
    ingestion, and again when the roster grows (pipelines.ingest.load.rescrub_comments): a full
    name left in one is a leak, whoever reads it. A name inside a longer text escapes a check
    of whole values, as a newcomer named before the roster listed them did."""
    pairs = {(w[0], w[-1]) for name in roster if name and len(w := _name_words(str(name))) >= 2}
    if not pairs or not snapshot.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'marts' AND table_name = 'comments'").fetchone()[0]:
        return 0
    texts = [t for (t,) in snapshot.execute(
        "SELECT DISTINCT comment FROM marts.comments WHERE comment IS NOT NULL").fetchall()]

    def names_someone(text: str) -> bool:
        words = _name_words(text)
        return any(pair in pairs for pair in zip(words, words[1:], strict=False))

    return sum(1 for t in texts if names_someone(t))


def snapshot_problems(snapshot: duckdb.DuckDBPyConnection, allowed: Iterable[str],
                      figures: pd.DataFrame, members: Iterable[str] | None = None,
                      roster: Iterable[str] = ()) -> list[str]:
    """What an audience's snapshot holds that it must not: tables outside its list, any text
    that looks like an email, survey figures the release layer did not release, and actions'
    change tests of such figures. With ``members`` (rostered members' names, for an audience
    that reads no member-level view: every one but the coach's), also any value that is a
    member's name, and any member id. With ``roster`` (every rostered member's and coach's
    name), also any comment that names one of them (comments_naming)."""
    allowed = set(allowed)
    problems = []
    tables = snapshot.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall()
    if members is not None:
        # the names handed over once, as a table every column is matched against (binding the
        # list of 100,000 names as a parameter of each column's query took most of the check)
        names = sorted({str(m) for m in members or () if m and str(m).strip()})
        snapshot.register("_hearth_member_names", pd.DataFrame({"name": pd.Series(
            names, dtype=object)}))
    try:
        for schema, table in tables:
            name = f"{schema}.{table}"
            if name not in allowed:
                problems.append(f"table {name} is not for this audience")
                continue
            problems += _column_problems(snapshot, schema, table, members is not None)
    finally:
        if members is not None:
            snapshot.unregister("_hearth_member_names")
    if named := comments_naming(snapshot, roster):
        problems.append(f"marts.comments holds {named} comment(s) naming a rostered member or "
                        "coach")
    names = {f"{s}.{t}" for s, t in tables}
    if "marts.indicators" in names and not figures.empty:
        problems += [f"survey figure not released: {x}"
                     for x in shown_is_released(figures, snapshot)]
    if "marts.action_survey_tests" in names:
        problems += [f"action's test of a survey figure not released: {x}"
                     for x in tests_of_unreleased(figures, snapshot)]
    if "marts.reliability" in names and not figures.empty:
        problems += [f"survey figure not released: {x}"
                     for x in unreleased_reliability(figures, snapshot)]
    return problems


__all__ = ["Finding", "determined_hidden", "read_figures", "shown_is_released",
           "comments_naming", "snapshot_problems", "tests_of_unreleased", "unreleased_citations",
           "unreleased_reliability"]


def agreeing_hidden_pools(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Quarter x indicators of the latest publication whose hidden responses all agree.

    The program's figure minus every shown group's gives the hidden units' responses together
    (at least k of them, or none: secondary suppression). When they all agree - a share of 0%
    or 100%, or every score the same (their sum of squares is their sum squared over n) - each
    hidden unit's figure follows too: a count is never below 0, so hidden responses that
    together hold no one willing hold no one willing in each hidden group. This is range
    reasoning, which the rank test does not model, and which suppression cannot prevent (to
    hide more when the hidden answers agree would say that they do: docs/privacy.md, Out of
    scope); it is reported, not failed. Read from the warehouse: release.survey_ledger (each
    entry as last published) and marts.indicators (what is shown). Each row: quarter,
    indicator, units (the hidden units holding responses: group ids, "" for responses naming
    no known group)."""
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall()}
    if not {"release.survey_ledger", "marts.indicators"} <= present:
        return []
    rows = con.execute(
        """WITH shown AS (SELECT quarter, group_id AS unit, indicator FROM marts.indicators
                          WHERE group_id IS NOT NULL AND status = 'ok'),
                program AS (SELECT quarter, indicator FROM marts.indicators
                            WHERE group_id IS NULL AND status = 'ok' AND NOT coalesce(pooled, false)),
                pool AS (SELECT l.quarter, l.indicator, list(l.unit ORDER BY l.unit) AS units,
                                sum(l.n) AS n, sum(l.hits) AS hits, sum(l.sum_score) AS s,
                                sum(l.sum_sq) AS ss
                         FROM release.survey_ledger l
                         SEMI JOIN program USING (quarter, indicator)
                         ANTI JOIN shown USING (quarter, unit, indicator)
                         WHERE l.n > 0 AND l.indicator IN ('belonging', 'psychological_safety',
                               'peer_support', 'loneliness_share', 'willingness_to_lead')
                         GROUP BY ALL)
           SELECT quarter, indicator, units FROM pool
           WHERE len(units) >= 2
             AND ((indicator IN ('loneliness_share', 'willingness_to_lead')
                   AND (hits = 0 OR hits = n))
                  OR abs(ss - s * s / n) <= 1e-9 * greatest(1, abs(ss)))
           ORDER BY quarter, indicator""").fetchall()
    return [{"quarter": q, "indicator": i, "units": list(u)} for q, i, u in rows]
