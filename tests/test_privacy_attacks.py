"""Issue 8's attacks, each as its own regression test, plus the auditor (`hearth privacy-check`).

Every attack uses only what Hearth shows - the review (CLI and pages), selections, comment
lists, and two publications one after the other - and tries to recover a hidden figure by
subtraction. Each one recovered the figure exactly before the release layer; now each finds
nothing, and the auditor agrees on random small programs.
"""

from __future__ import annotations

import json
import os
import re
import stat

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hearth.config import Config
from hearth.warehouse import AUDIENCE_TABLES, AUDIENCES, connect, publish, published_path
from metrics import api
from metrics.anonymity import HIDDEN_NOTE
from metrics.audit import determined_hidden, read_figures
from tests.metrics_world import World, same

Q = "2025Q1"
K = 5


@pytest.fixture()
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def world(con, groups=("A", "B", "C", "D", "E")) -> World:
    w = World(con)
    for g in groups:
        w.group(g, "2025-01-06")
        w.member(f"{g}-m", g, "2025-01-06")
        w.session(f"{g}-s1", g, "2025-01-06", host=f"{g}-m")
    return w


def respond(w: World, group, count, *, belonging=4, support=None, comment=None, day="2025-03-20"):
    for i in range(count):
        answers = same("bel", 4, belonging)
        if support is not None:
            answers.update(same("sup", 4, support))
        w.response(Q, day, group, comment=None if comment is None else f"{comment} {i}",
                   **answers)


def shown(w: World, group, key) -> dict:
    row = w.indicator(Q, group, key)
    return row if row["status"] == "ok" else None


def assert_auditor_finds_nothing(con):
    assert determined_hidden(read_figures(con)) == []


# ------------------------------------------------------------------ the attacks


def test_selection_of_two_groups_minus_one_does_not_recover_the_others_hidden_figure(con):
    # A answers belonging 6 times but peer support only 3 times: shown for belonging, hidden
    # for peer support. E's 2 peer-support answers keep the hidden ones at 5 together.
    w = world(con)
    respond(w, "A", 3, support=1)
    respond(w, "A", 3)
    respond(w, "B", 8, support=4)
    respond(w, "C", 8, support=4)
    respond(w, "D", 8, support=4)
    respond(w, "E", 2, support=5)
    respond(w, "E", 4)
    w.refresh()
    assert shown(w, "A", "belonging") and not shown(w, "A", "peer_support")
    b = shown(w, "B", "peer_support")
    pair = api.slice_indicators(con, Q, Config(), ["A", "B"])["peer_support"]
    # {A, B} pools B alone for peer support: the difference is empty
    assert (pair["n"], pair["value"]) == (b["n"], pytest.approx(b["value"]))
    assert_auditor_finds_nothing(con)


def test_a_one_group_filter_does_not_show_a_figure_hidden_by_secondary_suppression(con):
    w = world(con, ("A", "B", "C", "D"))
    respond(w, "A", 3, support=1)   # peer support: A primary-hidden (3)
    respond(w, "A", 3)
    respond(w, "B", 6, support=3)   # ... so B (6, the smallest shown) is hidden too
    respond(w, "C", 10, support=4)
    respond(w, "D", 10, support=4)
    w.refresh()
    assert w.indicator(Q, "B", "peer_support")["note"] == HIDDEN_NOTE(K)  # as A's: one note
    alone = api.slice_indicators(con, Q, Config(), ["B"])
    assert alone["belonging"]["status"] == "ok"       # B's own belonging is shown anyway
    assert alone["peer_support"]["status"] == "suppressed"
    assert alone["peer_support"]["value"] is None and alone["peer_support"]["n"] is None
    assert_auditor_finds_nothing(con)


def test_program_minus_every_group_does_not_give_back_responses_naming_no_known_group(con):
    w = world(con, ("A", "B"))
    respond(w, "A", 6)
    respond(w, "B", 7)
    respond(w, "a circle we never heard of", 1, belonging=1)
    w.refresh()
    program = w.indicator(Q, None, "belonging")
    visible = [r for g in ("A", "B") if (r := shown(w, g, "belonging"))]
    left = program["n"] - sum(r["n"] for r in visible)
    assert left == 0 or left >= K, "program minus the shown groups isolates the unknown response"
    assert_auditor_finds_nothing(con)


def test_a_comment_list_difference_never_attributes_comments_to_a_group_under_ten(con):
    w = world(con, ("A", "B"))
    respond(w, "A", 10, comment="from A")
    respond(w, "B", 4, comment="from B")
    w.refresh()
    lists = {g: set(api.comments(con, Q, g)["comment"]) for g in (None, "A", "B")}
    rest = lists[None] - lists["A"] - lists["B"]
    assert not (rest and rest <= {f"from B {i}" for i in range(4)}), \
        "the program's list minus A's gives B's comments"
    assert lists["A"] == set()  # A's list would do it: hidden by secondary suppression
    assert len(lists[None]) == 14
    assert_auditor_finds_nothing(con)


def test_a_late_response_is_not_recovered_by_comparing_two_publications(con):
    w = world(con, ("A", "B", "C"))
    for g in ("A", "B", "C"):
        respond(w, g, 8)
    w.refresh()
    before = {g: w.indicator(Q, g, "belonging") for g in ("A", None)}
    respond(w, "A", 1, belonging=1, day="2025-03-28")  # one late, distinctive answer
    w.refresh()
    after = {g: w.indicator(Q, g, "belonging") for g in ("A", None)}
    for g in ("A", None):  # held back: neither A nor the program moves by one response
        assert (after[g]["n"], after[g]["value"]) == (before[g]["n"], before[g]["value"])
    respond(w, "A", 4, belonging=1, day="2025-03-29")  # k late responses together: published
    w.refresh()
    assert w.indicator(Q, "A", "belonging")["n"] == 13
    assert w.indicator(Q, None, "belonging")["n"] == 29
    assert_auditor_finds_nothing(con)


def test_a_late_response_to_a_hidden_group_is_not_recovered_through_the_program_total(con):
    w = world(con, ("A", "B", "C", "D"))
    respond(w, "A", 3)
    respond(w, "B", 3)
    respond(w, "C", 8)
    respond(w, "D", 8)
    w.refresh()
    before = w.indicator(Q, None, "belonging")
    respond(w, "A", 1, belonging=1, day="2025-03-28")
    w.refresh()
    after = w.indicator(Q, None, "belonging")
    assert (after["n"], after["value"]) == (before["n"], before["value"])
    assert_auditor_finds_nothing(con)


# ------------------------------------------------------------------ the auditor


def figures(*rows):
    import pandas as pd

    return pd.DataFrame([(1, Q, "belonging", name, role, terms) for name, role, terms in rows],
                        columns=["publication", "quarter", "indicator", "figure", "role", "terms"])


def test_the_auditor_finds_a_hidden_figure_given_by_program_minus_shown_groups():
    found = determined_hidden(figures(("program", "shown", ["a", "b"]),
                                      ("group:b", "shown", ["b"]),
                                      ("group:a", "hidden", ["a"])))
    assert [f.figure for f in found] == ["group:a"]


def test_the_auditor_finds_a_figure_determined_only_by_combining_three_overlapping_sums():
    found = determined_hidden(figures(("ab", "shown", ["a", "b"]), ("bc", "shown", ["b", "c"]),
                                      ("ac", "shown", ["a", "c"]), ("group:a", "hidden", ["a"])))
    assert [f.figure for f in found] == ["group:a"]


def test_the_auditor_names_a_determined_sum_in_every_publication_that_repeats_it():
    # later publications repeat the figures whose entries did not move; the auditor tests each
    # distinct sum once, and still names every figure that holds it
    once = figures(("program", "shown", ["a", "b"]), ("group:b", "shown", ["b"]),
                   ("group:a", "hidden", ["a"]), ("group:c", "hidden", ["c"]))
    again = once.assign(publication=2)
    found = determined_hidden(pd.concat([once, again], ignore_index=True))
    assert [(f.publication, f.figure) for f in found] == [(1, "group:a"), (2, "group:a")]


def test_the_auditor_accepts_hidden_groups_that_only_appear_together():
    assert determined_hidden(figures(("program", "shown", ["a", "b", "c"]),
                                     ("group:c", "shown", ["c"]),
                                     ("group:a", "hidden", ["a"]),
                                     ("group:b", "hidden", ["b"]))) == []


def test_privacy_check_on_the_sample_finds_nothing_for_any_audience(sample_warehouse, capsys):
    from hearth.cli import main

    assert main(["--db", str(sample_warehouse), "privacy-check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["determined_hidden"] == []
    assert report["shown_figures"] > 0 and report["hidden_figures"] > 0
    assert {a: s["problems"] for a, s in report["audiences"].items()} == \
        {a: [] for a in AUDIENCES}
    for audience in AUDIENCES:
        assert main(["--db", str(sample_warehouse), "privacy-check", "--audience", audience]) == 0
        assert "0 hidden figure(s) determined" in capsys.readouterr().out


# ------------------------------------------------------------------ per-audience snapshots


@pytest.mark.parametrize("audience", AUDIENCES)
def test_each_audience_snapshot_holds_only_its_tables_privately(sample_warehouse, audience):
    path = published_path(sample_warehouse, audience)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with duckdb.connect(str(path), read_only=True) as snap:
        tables = {f"{s}.{t}" for s, t in snap.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
        text = "\n".join(
            str(v) for t in sorted(tables)
            for row in snap.execute(f"SELECT * FROM {t}").fetchall() for v in row)
    assert tables <= set(AUDIENCE_TABLES[audience])
    assert not [t for t in tables if t.split(".")[0] in ("raw", "core", "release", "kept")]
    assert "marts.survey_scores" not in tables
    assert ("marts.watchlist" in tables) == (audience == "coach")
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)


def test_the_warehouse_and_what_duckdb_writes_beside_it_are_their_owner_s_only(tmp_path):
    # names, emails and raw answers: not for other accounts on the machine, in the warehouse nor
    # in the write-ahead log DuckDB keeps beside it while it writes
    shell_umask = os.umask(0o022)
    try:
        older = tmp_path / "older.duckdb"
        duckdb.connect(str(older)).close()  # as an older Hearth created it
        assert stat.S_IMODE(older.stat().st_mode) == 0o644
        connect(older).close()
        assert stat.S_IMODE(older.stat().st_mode) == 0o600

        os.umask(0o022)
        con = connect(tmp_path / "hearth.duckdb")
        con.execute("CREATE TABLE core.notes AS SELECT 'ann@example.org' AS email")
        written = sorted(tmp_path.glob("hearth.duckdb*"))
        assert [p.name for p in written] == ["hearth.duckdb", "hearth.duckdb.wal"]
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == \
            {p.name: 0o600 for p in written}
        con.close()
    finally:
        os.umask(shell_umask)


def test_publishing_replaces_an_old_whole_warehouse_copy(tmp_path):
    db = tmp_path / "hearth.duckdb"
    legacy = tmp_path / "hearth.published.duckdb"
    legacy.write_bytes(b"a whole-warehouse copy from an older Hearth")
    con = connect(db)
    try:
        publish(con, db)
    finally:
        con.close()
    assert not legacy.exists()
    assert all(published_path(db, a).exists() for a in AUDIENCES)


# ------------------------------------------------------------------ random small programs

program = st.fixed_dictionaries({
    # per group: responses answering belonging only, and answering belonging and peer support
    "groups": st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=2, max_size=5),
    "unknown": st.integers(0, 3),
    # late responses per publication: (group index, how many)
    "late": st.lists(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 6)), max_size=3),
                     max_size=2),
})


# (no shrinking: each example refreshes a warehouse two or three times; a failure prints as is)
@pytest.mark.slow  # twelve warehouses refreshed two or three times each: CI runs it after make test
@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program)
def test_no_hidden_figure_is_determined_in_random_small_programs(tmp_path_factory, spec):
    db = tmp_path_factory.mktemp("random") / "w.duckdb"
    con = connect(db)
    try:
        names = [f"g{i}" for i in range(len(spec["groups"]))]
        w = world(con, names)
        for name, (only, both) in zip(names, spec["groups"], strict=True):
            respond(w, name, only, belonging=2, comment="c")
            respond(w, name, both, belonging=4, support=3, comment="d")
        respond(w, "nobody knows", spec["unknown"], belonging=5, support=1)
        w.refresh()
        for batch in spec["late"]:
            for index, count in batch:
                respond(w, names[index % len(names)], count, belonging=1, support=5,
                        day="2025-03-30")
            w.refresh()
        assert_auditor_finds_nothing(con)
        selection = names[: max(1, len(names) // 2)]
        pooled = api.slice_indicators(con, Q, Config(), selection)
        for key in ("belonging", "peer_support"):
            released = {g for g in selection if shown(w, g, key)}
            if pooled[key]["status"] == "ok":  # a selection is a sum of shown groups only
                assert pooled[key]["n"] == sum(w.indicator(Q, g, key)["n"] for g in released)
    finally:
        con.close()


def test_the_dashboard_reads_figures_only_through_the_read_layer():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "dashboard"
    offenders = [str(p.relative_to(root)) for p in sorted(root.rglob("*.py"))
                 if re.search(r"\bFROM\s+(marts|raw|core|release)\.", p.read_text(encoding="utf-8"),
                              flags=re.I)]
    assert offenders == []
    pages = [p.name for p in sorted((root / "app_pages").glob("*.py"))
             if re.search(r"\bSELECT\b", p.read_text(encoding="utf-8"))]
    assert pages == []


def test_snapshot_check_reads_each_quarter_from_its_last_publication():
    # An incremental refresh publishes only the quarters it rebuilds (2025Q2 in publication 2);
    # the snapshot still shows 2025Q1 as publication 1 released it, which is not a leak. Found
    # at reference scale: every incremental refresh made `hearth privacy-check` fail.
    from metrics.audit import shown_is_released

    snap = duckdb.connect()
    snap.execute("CREATE SCHEMA marts")
    snap.execute("CREATE TABLE marts.indicators (quarter VARCHAR, indicator VARCHAR, "
                 "group_id VARCHAR, status VARCHAR, pooled BOOLEAN)")
    snap.execute("INSERT INTO marts.indicators VALUES ('2025Q1', 'belonging', 'A', 'ok', false), "
                 "('2025Q1', 'belonging', NULL, 'ok', false), "
                 "('2025Q2', 'belonging', 'A', 'ok', false), "
                 "('2025Q2', 'belonging', 'B', 'ok', false)")
    released = pd.DataFrame([
        (1, "2025Q1", "belonging", "group:A", "shown", ["2025Q1|A@1"]),
        (1, "2025Q1", "belonging", "program", "shown", ["2025Q1|A@1"]),
        (1, "2025Q2", "belonging", "group:B", "shown", ["2025Q2|B@1"]),
        (2, "2025Q2", "belonging", "group:A", "shown", ["2025Q2|A@2"]),
        (2, "2025Q2", "belonging", "group:B", "hidden", ["2025Q2|B@2"]),
    ], columns=["publication", "quarter", "indicator", "figure", "role", "terms"])
    # B's 2025Q2 figure was shown by publication 1 but hidden by the latest one for 2025Q2
    assert shown_is_released(released, snap) == ["2025Q2 belonging group:B"]


def test_update_check_reads_each_quarter_from_its_last_publication():
    # The community update cites every quarter's program figures; after an incremental refresh
    # the latest publication holds only the quarters it rebuilt. Found at reference scale:
    # `hearth privacy-check` exited 1 on 24 citations of 2025Q1 figures released by
    # publication 1, while a citation of a figure the latest release hides is still caught.
    from metrics.audit import unreleased_citations

    released = pd.DataFrame([
        (1, "2025Q1", "belonging", "program", "shown", ["2025Q1|A@1"]),
        (1, "2025Q2", "belonging", "program", "shown", ["2025Q2|A@1"]),
        (2, "2025Q2", "belonging", "program", "hidden", ["2025Q2|A@2"]),
    ], columns=["publication", "quarter", "indicator", "figure", "role", "terms"])
    cited = [{"quarter": q, "indicator": "belonging", "figure": "program"}
             for q in ("2025Q1", "2025Q2")]
    assert unreleased_citations(released, cited) == ["2025Q2 belonging program"]


def whole_audit(figures_frame) -> set[tuple]:
    """The auditor's question answered the plain way: every shown figure of every indicator,
    quarter and publication as one matrix, and a hidden figure determined exactly when adding
    its row leaves the rank unchanged. No elimination, no blocks."""
    import numpy as np

    entries = sorted({(i, t) for i, terms in figures_frame[["indicator", "terms"]]
                      .itertuples(index=False) for t in terms})
    index = {e: n for n, e in enumerate(entries)}

    def row(indicator, terms):
        out = np.zeros(len(entries))
        for t in terms:
            out[index[(indicator, t)]] = 1.0
        return out

    shown_rows = [row(i, t) for i, t, r in figures_frame[["indicator", "terms", "role"]]
                  .itertuples(index=False) if r == "shown"]
    matrix = np.array(shown_rows) if shown_rows else np.zeros((0, len(entries)))
    rank = np.linalg.matrix_rank(matrix) if len(shown_rows) else 0
    found = set()
    for p, q, i, f, r, t in figures_frame.itertuples(index=False):
        if r == "hidden" and len(t) and np.linalg.matrix_rank(
                np.vstack([matrix, row(i, t)])) == rank:
            found.add((p, q, i, f))
    return found


# A random release history: per publication, quarter and indicator, group entries (some moved
# to a new version), figures over random subsets of them - single groups, the program, pooled
# selections - each shown or hidden at random.
system = st.lists(
    st.tuples(st.integers(1, 3), st.sampled_from(["2025Q1", "2025Q2"]),
              st.sampled_from(["belonging", "peer_support"]),
              st.frozensets(st.tuples(st.integers(0, 6), st.integers(1, 2)), min_size=1,
                            max_size=7),
              st.sampled_from(["shown", "shown", "hidden", "allowed"])),
    min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(system)
def test_the_decomposed_audit_finds_exactly_what_the_whole_one_finds(rows):
    decomposed_audit_equals_whole(rows)


@pytest.mark.slow  # the full sweep: CI runs it after make test, which runs the 60 above
@settings(max_examples=300, deadline=None)
@given(system)
def test_the_decomposed_audit_finds_exactly_what_the_whole_one_finds_in_300_systems(rows):
    decomposed_audit_equals_whole(rows)


def decomposed_audit_equals_whole(rows) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [(p, q, i, f"figure{n}", role, sorted(f"{q}|g{g}@{v}" for g, v in terms))
         for n, (p, q, i, terms, role) in enumerate(rows)],
        columns=["publication", "quarter", "indicator", "figure", "role", "terms"])
    decomposed = {(f.publication, f.quarter, f.indicator, f.figure)
                  for f in determined_hidden(frame)}
    assert decomposed == whole_audit(frame)


def test_the_audit_tests_one_long_row_without_its_square_null_space():
    # A quarter's program figure over 20,000 entries, 19,990 of them hidden groups: its null
    # space would be a 20,000 x 20,000 matrix (3.2 GB); the row space is one vector.
    import pandas as pd

    entries = [f"{Q}|g{i}@1" for i in range(20_000)]
    rows = [(1, Q, "belonging", "program", "shown", entries)]
    rows += [(1, Q, "belonging", f"group:g{i}", "shown", [entries[i]]) for i in range(10)]
    rows += [(1, Q, "belonging", f"group:g{i}", "hidden", [entries[i]]) for i in range(10, 20_000)]
    frame = pd.DataFrame(rows, columns=["publication", "quarter", "indicator", "figure", "role",
                                        "terms"])
    assert determined_hidden(frame) == []
    # ... and the sum of every hidden group is the program minus the shown ones: determined
    frame.loc[len(frame)] = (1, Q, "belonging", "hidden groups", "hidden", entries[10:])
    assert [f.figure for f in determined_hidden(frame)] == ["hidden groups"]


def test_a_comment_list_moves_only_by_ten_responses_between_publications(con):
    """Red team (session 18): a group's comment list moved with its responses' ledger entry, in
    steps of k = 5. Comments need 10: a late batch of 5 responses, one with a comment, showed
    up as the one new comment in the group's list (and the program's) - attributed by
    comparing two publications to 5 responses, under the comments' threshold."""
    w = world(con, ("A", "B"))
    respond(w, "A", 12, comment="early A")
    respond(w, "B", 12, comment="early B")
    w.refresh()
    before = {g: set(api.comments(con, Q, g)["comment"]) for g in (None, "A")}
    assert len(before["A"]) == 12 and len(before[None]) == 24
    respond(w, "A", 4, day="2025-03-28")
    respond(w, "A", 1, comment="late and telling", day="2025-03-28")
    w.refresh()
    assert w.indicator(Q, "A", "belonging")["n"] == 17  # the figure moves by k = 5 ...
    after = {g: set(api.comments(con, Q, g)["comment"]) for g in (None, "A")}
    assert after == before  # ... the comment lists wait for 10
    respond(w, "A", 5, comment="later", day="2025-03-29")
    w.refresh()
    after = {g: set(api.comments(con, Q, g)["comment"]) for g in (None, "A")}
    assert "late and telling 0" in after["A"] and "later 4" in after[None]
    assert_auditor_finds_nothing(con)


def test_the_notes_do_not_tell_which_hidden_group_is_the_small_one(con):
    """A = 1 response, B = 5, C = D = 10: A is hidden (primary), B to protect it (secondary).
    Program minus C and D gives A + B = 6; A's note says "fewer than 5", B's "hidden so that a
    smaller group's answers stay private" (so B >= 5): A = 1 and B = 5, exactly."""
    w = world(con, ("A", "B", "C", "D"))
    respond(w, "A", 1)
    respond(w, "B", 5)
    respond(w, "C", 10)
    respond(w, "D", 10)
    w.refresh()
    notes = {g: w.indicator(Q, g, "belonging")["note"] for g in ("A", "B")}
    assert w.indicator(Q, "A", "belonging")["status"] == "suppressed"
    assert w.indicator(Q, "B", "belonging")["status"] == "suppressed"
    assert notes["A"] == notes["B"] == HIDDEN_NOTE(K), f"the notes tell them apart: {notes}"
    for g in ("A", "B"):
        assert json.dumps(api.review(con, Q, Config())["groups"][g]["indicators"]["belonging"]) \
            .count("smaller group") == 1  # the note, once: no other field says which


def _agreeing_hidden_world(con):
    """A, B and C shown for willingness to lead; D's 3 responses and 3 naming no group hidden,
    none of the 6 willing."""
    w = world(con, ("A", "B", "C", "D"))
    for group, willing in (("A", (5, 5, 2, 2, 1, 4)), ("B", (1, 4, 4, 2, 5, 3)),
                           ("C", (2, 2, 5, 4, 1, 5)), ("D", (2, 1, 2)), (None, (1, 2, 1))):
        for i, score in enumerate(willing):
            w.response(Q, "2025-03-20", group, lead_1=score, **same("bel", 4, 1 + i % 4))
    w.refresh()
    return w


@pytest.mark.xfail(strict=True, reason=(
    "range reasoning on the hidden pool: threshold suppression cannot prevent it (hiding more "
    "when the hidden answers all agree says that they do); docs/privacy.md, Out of scope"))
def test_hidden_answers_that_all_agree_do_not_give_a_hidden_group_s_share(con):
    # Red team, session 22, on the unmodified sample: in 2026Q2, g14 (3 responses) and the
    # responses naming no known group (4) are hidden for willingness to lead; 7 together, so
    # no secondary suppression. The program's share minus every shown group's gives the hidden
    # 7: 0 willing. A count is never below 0, so g14's hidden share is exactly 0% (and so is
    # every one of its 3 respondents' answer). The auditor finds nothing: hits_g14 + hits_unknown
    # = 0 does not determine hits_g14 by linear algebra alone.
    w = _agreeing_hidden_world(con)
    assert w.indicator(Q, "D", "willingness_to_lead")["status"] == "suppressed"
    program = w.indicator(Q, None, "willingness_to_lead")
    visible = [r for g in ("A", "B", "C") if (r := shown(w, g, "willingness_to_lead"))]
    pool_n = program["n"] - sum(r["n"] for r in visible)
    pool_hits = round(program["value"] * program["n"]) - sum(round(r["value"] * r["n"])
                                                             for r in visible)
    assert pool_n >= K
    assert_auditor_finds_nothing(con)
    assert 0 < pool_hits < pool_n, "the hidden answers all agree: D's hidden share is known"


def test_privacy_check_reports_hidden_responses_that_all_agree(con, sample_warehouse, capsys):
    from hearth.cli import main
    from metrics.audit import agreeing_hidden_pools

    _agreeing_hidden_world(con)
    assert agreeing_hidden_pools(con) == [
        {"quarter": Q, "indicator": "willingness_to_lead", "units": ["", "D"]}]
    # on the sample: g14 (3 responses) and 4 naming no known group, none willing to lead
    assert main(["--db", str(sample_warehouse), "privacy-check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["agreeing_hidden_pools"] == [
        {"quarter": "2026Q2", "indicator": "willingness_to_lead", "units": ["", "g14"]}]


def test_a_response_in_a_quarter_without_sessions_does_not_name_its_group(tmp_path):
    # Red team, session 22: every group of a quarter with sessions has survey rows whether or
    # not it has responses (no response and 1-4 read the same), but a group with no sessions
    # or members in the quarter had rows only when it had responses. One response submitted
    # after the last session loaded (a Google Forms answer dated 2 October, counted in the
    # quarter of its date) made a new quarter whose only group was the one it named: "g03
    # Thursday Evening Commons" under 2026Q4 in the review, the quarter list and every page,
    # for every audience - whose response it was, to a group, from 1 response. (And the
    # reliability table had a hidden row for each construct it answered, in a quarter the
    # program's figures did not list.)
    seen = {}
    for sender in ("A", "B", None):
        con = connect(tmp_path / f"{sender}.duckdb")
        try:
            w = world(con, ("A", "B", "C"))
            respond(w, "A", 6, day="2025-01-20")
            respond(w, "B", 7, day="2025-01-21")
            respond(w, "C", 8, day="2025-01-22")
            if sender is not None:
                w.response("2025Q2", "2025-04-02", sender, **same("bel", 4, 2))
            w.refresh()
            seen[sender] = (api.quarters_computed(con), con.execute(
                "SELECT quarter, group_id, indicator, status FROM marts.indicators "
                "WHERE quarter = '2025Q2' ORDER BY ALL").fetchall(), con.execute(
                "SELECT quarter, construct, policy FROM marts.reliability "
                "WHERE quarter = '2025Q2' ORDER BY ALL").fetchall())
            assert_auditor_finds_nothing(con)
        finally:
            con.close()
    assert seen["A"] == seen["B"] == seen[None]


def test_a_response_to_a_group_before_it_started_does_not_list_it(tmp_path):
    # The same rule inside a quarter other groups are part of: D starts in 2025Q2, so 2025Q1
    # lists A, B and C only; a response naming D with a 2025Q1 survey id listed D in 2025Q1.
    # It reads now as a response naming no known group does (a hidden sibling either way).
    seen = {}
    for sender in ("D", None):
        con = connect(tmp_path / f"{sender}.duckdb")
        try:
            w = world(con, ("A", "B", "C"))
            w.group("D", "2025-04-01")
            w.member("D-m", "D", "2025-04-01")
            w.session("D-s1", "D", "2025-04-07", host="D-m")
            respond(w, "A", 6, day="2025-01-20")
            respond(w, "B", 7, day="2025-01-21")
            w.response(Q, "2025-03-30", sender, **same("bel", 4, 2))
            w.refresh()
            seen[sender] = con.execute(
                "SELECT quarter, group_id, indicator, status FROM marts.indicators "
                "WHERE quarter = ? AND indicator IN ('belonging', 'peer_support') ORDER BY ALL",
                [Q]).fetchall()
            assert_auditor_finds_nothing(con)
        finally:
            con.close()
    assert seen["D"] == seen[None]
