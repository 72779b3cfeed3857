"""The refresh graph: declarations that stay honest, an order from them, and clear refusals."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import duckdb
import pytest

from hearth.config import Config
from hearth.warehouse import connect
from metrics import refresh as refresh_module
from metrics.graph import (
    GraphError,
    Step,
    check_outputs,
    mermaid,
    order_steps,
    parse_sql_step,
    python_step,
    sql_steps,
)
from metrics.refresh import SOURCE_TABLES, install_macros, python_steps, refresh_graph

ROOT = Path(__file__).resolve().parents[1]
TABLE = re.compile(r"\b(?:core|marts|kept)\.\w+|\bstage_\w+")


def _code(sql: str) -> str:
    """SQL without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


@pytest.mark.parametrize("step", sql_steps(), ids=lambda s: s.name)
def test_every_table_a_sql_file_names_is_declared_and_every_declaration_is_used(step):
    code = _code(step.sql)
    named = set(TABLE.findall(code))
    created = set(re.findall(r"CREATE (?:OR REPLACE )?(?:TEMP )?TABLE\s+((?:marts\.)?\w+)", code))
    appended = set(re.findall(r"INSERT INTO\s+((?:marts\.)?\w+)", code)) - created
    assert created == set(step.writes), "CREATE TABLE and `-- writes:` disagree"
    assert appended == set(step.extends), "INSERT INTO and `-- extends:` disagree"
    assert named - created - appended == set(step.reads), "tables named and `-- reads:` disagree"


def _sources(fn, seen: set) -> str:
    """The source of `fn` and of every metrics function it calls, recursively."""
    code = getattr(fn, "__code__", None)
    if code is None or fn in seen or not fn.__module__.startswith("metrics."):
        return ""
    seen.add(fn)
    text = inspect.getsource(fn)
    names = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names |= set(c.co_names)
        stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    for name in names:
        target = fn.__globals__.get(name)
        if isinstance(target, types.FunctionType):
            text += _sources(target, seen)
    return text


@pytest.mark.parametrize("step", python_steps(), ids=lambda s: s.name)
def test_every_table_a_python_step_names_is_declared(step):
    named = set(TABLE.findall(_sources(step.run, set())))
    undeclared = named - set(step.reads) - set(step.writes) - set(step.extends)
    assert not undeclared, f"{step.name} reads {sorted(undeclared)} without declaring it"


def test_every_marts_table_has_declared_columns_and_python_marts_their_types():
    for step in refresh_graph():
        for table, columns in step.writes.items():
            assert columns, f"{step.where}: {table} has no columns declared"
            if step.sql is None and table.startswith("marts."):
                assert list(step.types[table]) == list(columns)


def test_steps_run_in_the_order_their_declarations_give_not_by_file_name():
    names = [s.name for s in refresh_graph()]
    assert names.index("03_memberships.sql") < names.index("scope.sql") \
        < names.index("03_member_quarters.sql") < names.index("04_session_attendance.sql")
    assert names.index("instrument") < names.index("10_survey_scores.sql")
    # every extension of stage_counts is in before anything reads it
    assert max(names.index("06_retention.sql"), names.index("07_leadership.sql")) \
        < names.index("indicators")


def _step(name, reads=(), writes=(), extends=()):
    return Step(name=name, reads=tuple(reads), writes={t: ("x",) for t in writes},
                extends=tuple(extends), sql="")


def test_a_step_reading_a_table_nobody_writes_is_refused():
    steps = [_step("a.sql", reads=["core.sessions"], writes=["stage_a"]),
             _step("b.sql", reads=["stage_a", "stage_missing"], writes=["marts.b"])]
    with pytest.raises(GraphError, match=r"^metrics/sql/b.sql: reads stage_missing, which no "
                                         r"step writes; declare the step that builds it"):
        order_steps(steps, sources=["core.sessions"])


def test_a_cycle_is_refused_naming_its_steps():
    steps = [_step("a.sql", reads=["stage_c"], writes=["stage_a"]),
             _step("b.sql", reads=["stage_a"], writes=["stage_b"]),
             _step("c.sql", reads=["stage_b"], writes=["stage_c"])]
    with pytest.raises(GraphError, match=r"^the refresh graph has a cycle: a.sql -> c.sql -> "
                                         r"b.sql -> a.sql; "):
        order_steps(steps)


def test_a_table_written_by_two_steps_is_refused():
    steps = [_step("a.sql", writes=["marts.x"]), _step("b.sql", writes=["marts.x"])]
    with pytest.raises(GraphError, match=r"^metrics/sql/b.sql: writes marts.x, which "
                                         r"metrics/sql/a.sql also writes"):
        order_steps(steps)


def test_adding_a_python_step_is_one_declaration():
    def summary(ctx):
        return {"marts.summary": None}
    extra = python_step("summary", summary, reads=["marts.indicators"],
                        writes={"marts.summary": {"quarter": "VARCHAR", "n": "BIGINT"}})
    ordered = order_steps([*sql_steps(), *python_steps(), extra], sources=SOURCE_TABLES)
    names = [s.name for s in ordered]
    assert names.index("indicators") < names.index("summary")
    assert extra.writes == {"marts.summary": ("quarter", "n")}


def test_a_sql_header_is_parsed_with_continuation_lines():
    step = parse_sql_step("x.sql", "-- reads: core.sessions,\n--     stage_calendar\n"
                                   "-- writes: marts.x(a,\n--     b)\n--\n-- note: words\n"
                                   "CREATE TABLE marts.x AS SELECT 1 AS a, 2 AS b;")
    assert step.reads == ("core.sessions", "stage_calendar")
    assert step.writes == {"marts.x": ("a", "b")}


def test_a_sql_file_without_declarations_is_refused():
    with pytest.raises(GraphError, match=r"^metrics/sql/x.sql: no `-- writes:` line"):
        parse_sql_step("x.sql", "-- builds things\nCREATE TABLE marts.x AS SELECT 1;")
    with pytest.raises(GraphError, match=r"^metrics/sql/x.sql: marts.x is written without its "
                                         r"columns"):
        parse_sql_step("x.sql", "-- writes: marts.x\nCREATE TABLE marts.x AS SELECT 1;")


def test_an_output_that_does_not_match_its_declared_columns_is_refused():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.x AS SELECT 1 AS a, 2 AS c")
    step = Step(name="x.sql", reads=(), writes={"marts.x": ("a", "b")}, sql="")
    with pytest.raises(GraphError, match=r"^metrics/sql/x.sql: marts.x does not match its "
                                         r"declaration \(missing b; undeclared c\); make the "
                                         r"step and its declared columns agree$"):
        check_outputs(con, step)
    missing = Step(name="y.sql", reads=(), writes={"stage_y": ("a",)}, sql="")
    with pytest.raises(GraphError, match=r"declares stage_y but did not create it"):
        check_outputs(con, missing)


def test_a_python_step_missing_a_declared_column_stops_the_refresh(tmp_path, monkeypatch):
    con = connect(tmp_path / "w.duckdb")
    drifted = [s if s.name != "retention curve" else
               python_step(s.name, s.run, s.reads,
                           {"marts.retention_curve": {"days": "INTEGER",
                                                      "median_days": "DOUBLE"}})
               for s in python_steps()]
    monkeypatch.setattr(refresh_module, "python_steps", lambda: drifted)
    with pytest.raises(GraphError, match=r"^refresh step 'retention curve': its rows for "
                                         r"marts.retention_curve lack the declared column "
                                         r"median_days; "):
        refresh_module.refresh(con, Config())
    assert con.execute("SELECT count(*) FROM information_schema.tables "
                       "WHERE table_schema = 'marts'").fetchone()[0] == 0


def test_survey_thresholds_reach_sql_from_definitions(monkeypatch):
    con = duckdb.connect()
    install_macros(con, Config())
    assert con.execute("SELECT is_lonely(6), is_lonely(5), is_willing(4), is_willing(3)"
                       ).fetchone() == (True, False, True, False)
    monkeypatch.setattr(refresh_module, "LONELY_TOTAL", 7)
    install_macros(con, Config())
    assert con.execute("SELECT is_lonely(6)").fetchone() == (False,)


def test_the_regular_share_reaches_sql_from_definitions(monkeypatch):
    # the funnel's "regular" and the watchlist's "stopped coming" read one threshold
    con = duckdb.connect()
    install_macros(con, Config())
    assert con.execute("SELECT is_regular(3, 5), is_regular(2, 5), is_regular(0, 0)"
                       ).fetchone() == (True, False, True)
    monkeypatch.setattr(refresh_module, "REGULAR_SHARE", 0.8)
    install_macros(con, Config())
    assert con.execute("SELECT is_regular(3, 5)").fetchone() == (False,)
    for name in ("08_watchlist.sql", "09_participation_funnel.sql"):
        sql = (ROOT / "metrics" / "sql" / name).read_text(encoding="utf-8")
        assert "is_regular(" in sql and "0.6" not in sql, name


def test_the_architecture_doc_shows_the_graph_as_declared():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    chart = mermaid(refresh_graph())
    assert "```mermaid\n" + chart + "```" in doc, (
        "docs/architecture.md is stale: paste `python -m metrics.refresh graph` into its "
        "Refresh graph section")


def test_the_graph_prints_as_mermaid(capsys):
    assert refresh_module.main(["graph"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR\n") and "t_marts_indicators" in out
