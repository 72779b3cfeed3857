"""The refresh graph: every step names what it reads and what it writes, columns included.

A step is one SQL file under metrics/sql/ or one Python function (declared in
metrics/refresh.py). Each names

- ``reads``: the tables it reads (``core.*``, ``stage_*`` temp tables, ``marts.*``, and
  ``kept.*``: what the runner keeps of the last refresh's stage tables, see metrics.refresh);
- ``writes``: the tables it creates, each with its columns, in order;
- ``extends``: tables another step created that it adds rows to (``stage_counts``).

A SQL file declares itself in comment lines at its top, which this module parses::

    -- reads: core.sessions, stage_calendar
    -- writes: stage_sessions(session_id, group_id, session_date, quarter, seq)
    -- writes: marts.groups(group_id, name,
    --     modality, language)

(an indented comment line continues the declaration above it).

The runner (metrics.refresh) orders steps from these declarations, never by file name, and
checks after each step that every table it writes exists with exactly the declared columns.
A graph with an input nobody writes, a table written twice, or a cycle is refused before
anything runs. A step that reads ``stage_scope`` is *quarterly*: it builds rows only for the
quarters being refreshed (see metrics.refresh), and the marts it writes keep their earlier
quarters' rows.

`python -m metrics.refresh graph` prints the whole graph as a Mermaid flowchart
(docs/architecture.md holds it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources

import duckdb

from hearth.errors import HearthError

#: The table a step reads to learn which quarters are being refreshed.
SCOPE_TABLE = "stage_scope"

_DECLARATION = re.compile(r"^--\s*(reads|writes|extends):\s*(.*)$")
_CONTINUATION = re.compile(r"^--\s{2,}\S")
_TABLE = re.compile(r"^\s*((?:core|marts|raw|kept)\.\w+|stage_\w+)\s*(?:\((.*)\))?\s*$", re.S)


class GraphError(HearthError):
    """A refresh graph that cannot run: the message names the step, the problem and the fix."""


@dataclass(frozen=True)
class Step:
    """One node of the refresh graph."""

    name: str
    reads: tuple[str, ...]
    writes: dict[str, tuple[str, ...]]
    extends: tuple[str, ...] = ()
    sql: str | None = None                      # a SQL step's text
    run: Callable | None = field(default=None, compare=False)  # a Python step's function
    types: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    @property
    def where(self) -> str:
        """How an error message names the step."""
        return f"metrics/sql/{self.name}" if self.sql is not None else f"refresh step {self.name!r}"

    @property
    def quarterly(self) -> bool:
        """Builds only the quarters being refreshed (it reads the scope)."""
        return SCOPE_TABLE in self.reads


def python_step(name: str, run: Callable, reads: Iterable[str],
                writes: dict[str, dict[str, str] | tuple[str, ...]]) -> Step:
    """A Python step: `run(ctx)` returns {marts table: frame} for the marts it writes (the runner
    writes them with the declared column types) and creates any stage table itself."""
    columns = {t: tuple(c) for t, c in writes.items()}
    types = {t: dict(c) for t, c in writes.items() if isinstance(c, dict)}
    return Step(name=name, reads=tuple(reads), writes=columns, run=run, types=types)


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_sql_step(name: str, sql: str) -> Step:
    """A SQL file's step, from the `-- reads:`/`-- writes:`/`-- extends:` lines at its top."""
    declarations: list[list[str]] = []
    continuing = False  # an indented comment line right after a declaration continues it
    for line in sql.splitlines():
        match = _DECLARATION.match(line.strip())
        if match:
            declarations.append([match.group(1), match.group(2)])
            continuing = True
        elif continuing and _CONTINUATION.match(line):
            declarations[-1][1] += " " + line.strip()[2:].strip()
        else:
            continuing = False
    reads: list[str] = []
    writes: dict[str, tuple[str, ...]] = {}
    extends: list[str] = []
    for kind, text in declarations:
        for item in _split_top(text):
            match = _TABLE.match(item)
            if not match:
                raise GraphError(f"metrics/sql/{name}: cannot read the declaration {item!r}; "
                                 "write a table as core.x, marts.x or stage_x, columns in ()")
            table, columns = match.group(1), match.group(2)
            if kind == "writes":
                if columns is None:
                    raise GraphError(f"metrics/sql/{name}: {table} is written without its "
                                     f"columns; declare it as {table}(col, col, ...)")
                writes[table] = tuple(c.strip() for c in columns.split(",") if c.strip())
            elif columns is not None:
                raise GraphError(f"metrics/sql/{name}: columns are declared only where a table "
                                 f"is written, not on {kind} {table}")
            else:
                (reads if kind == "reads" else extends).append(table)
    if not writes and not extends:
        raise GraphError(f"metrics/sql/{name}: no `-- writes:` line; declare what the file "
                         "builds at its top (see metrics/graph.py)")
    return Step(name=name, reads=tuple(reads), writes=writes, extends=tuple(extends), sql=sql)


def sql_steps() -> list[Step]:
    """Every SQL file under metrics/sql/ as a step (in name order; the graph decides the run
    order)."""
    folder = resources.files("metrics") / "sql"
    files = sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir()
                   if f.name.endswith(".sql"))
    return [parse_sql_step(name, text) for name, text in files]


def order_steps(steps: Iterable[Step], sources: Iterable[str] = ()) -> list[Step]:
    """The steps in an order where every table is complete before anything reads it.

    A table is complete once the step that writes it and every step that extends it have run.
    `sources` are tables that exist before the refresh (core.*). Ties keep the given order.
    Raises GraphError for a table read but never written, a table written twice, or a cycle.
    """
    steps = list(steps)
    available = set(sources)
    writer: dict[str, Step] = {}
    for step in steps:
        for table in step.writes:
            if table in writer:
                raise GraphError(f"{step.where}: writes {table}, which {writer[table].where} "
                                 "also writes; one step creates a table, others may extend it")
            writer[table] = step
    for step in steps:
        for table in (*step.reads, *step.extends):
            if table not in writer and table not in available:
                raise GraphError(f"{step.where}: reads {table}, which no step writes; "
                                 "declare the step that builds it or fix the name")
    # edges: a step needs the writer of what it reads or extends, and (for reads) every extender
    extenders: dict[str, list[Step]] = {}
    for step in steps:
        for table in step.extends:
            extenders.setdefault(table, []).append(step)
    needs: dict[str, set[str]] = {s.name: set() for s in steps}
    for step in steps:
        for table in (*step.reads, *step.extends):
            if table in writer and writer[table].name != step.name:
                needs[step.name].add(writer[table].name)
        for table in step.reads:
            needs[step.name] |= {e.name for e in extenders.get(table, []) if e.name != step.name}
    # extenders of one table run in the order given (their rows are appended in that order)
    for chain in extenders.values():
        for before, after in zip(chain, chain[1:], strict=False):
            needs[after.name].add(before.name)
    ordered: list[Step] = []
    done: set[str] = set()
    pending = list(steps)
    while pending:
        ready = [s for s in pending if needs[s.name] <= done]
        if not ready:
            cycle = _cycle({s.name: needs[s.name] - done for s in pending})
            raise GraphError("the refresh graph has a cycle: " + " -> ".join(cycle)
                             + "; one of these steps must stop reading what a later one writes")
        step = ready[0]
        ordered.append(step)
        done.add(step.name)
        pending.remove(step)
    return ordered


def _cycle(needs: dict[str, set[str]]) -> list[str]:
    """One cycle among steps that all wait on each other."""
    path = [next(iter(needs))]
    while True:
        nxt = sorted(needs[path[-1]])[0]
        if nxt in path:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, ...] | None:
    """Columns of `table` (schema.name, or a temp stage_ table) in order; None if it is missing."""
    schema, _, name = table.rpartition(".")
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = ? "
        "AND (database_name = 'temp') = ? ORDER BY column_index",
        [name, schema or "main", not schema],
    ).fetchall()
    return tuple(c for (c,) in rows) or None


def tables_columns(con: duckdb.DuckDBPyConnection, tables: Iterable[str]
                   ) -> dict[str, tuple[str, ...] | None]:
    """table_columns of several tables in one query (each a catalog scan, a few ms even on an
    empty warehouse): {table: its columns in order, or None if it is missing}."""
    tables = list(tables)
    wanted = [(name, schema or "main", not schema)
              for schema, _, name in (t.rpartition(".") for t in tables)]
    found: dict[tuple, list] = {}
    if wanted:
        keys = " OR ".join("(table_name = ? AND schema_name = ? AND (database_name = 'temp') = ?)"
                           for _ in wanted)
        for name, schema, temp, column in con.execute(
            "SELECT table_name, schema_name, database_name = 'temp', column_name "
            f"FROM duckdb_columns() WHERE {keys} ORDER BY column_index",
            [value for key in wanted for value in key],
        ).fetchall():
            found.setdefault((name, schema, temp), []).append(column)
    return {t: tuple(found[key]) if key in found else None
            for t, key in zip(tables, wanted, strict=True)}


def check_outputs(con: duckdb.DuckDBPyConnection, step: Step) -> None:
    """Every table `step` writes exists with exactly its declared columns, in order."""
    columns = tables_columns(con, step.writes)
    for table, declared in step.writes.items():
        actual = columns[table]
        if actual is None:
            raise GraphError(f"{step.where}: declares {table} but did not create it; "
                             "build it or drop it from the declaration")
        if actual != declared:
            missing = [c for c in declared if c not in actual]
            extra = [c for c in actual if c not in declared]
            detail = "; ".join(filter(None, [
                f"missing {', '.join(missing)}" if missing else "",
                f"undeclared {', '.join(extra)}" if extra else "",
                "same columns in another order" if not missing and not extra else "",
            ]))
            raise GraphError(f"{step.where}: {table} does not match its declaration ({detail}); "
                             "make the step and its declared columns agree")


def _node(table: str) -> str:
    return "t_" + table.replace(".", "_")


def _step_node(step: Step) -> str:
    return "s_" + re.sub(r"\W", "_", step.name)


def mermaid(steps: Iterable[Step], stage: bool = False) -> str:
    """The graph as a Mermaid flowchart: core tables -> steps -> marts tables.

    With `stage` False (the default, for the docs) temp stage tables are folded into the
    edges between the steps that write and read them, so the chart stays readable.
    """
    steps = list(steps)
    writer = {t: s for s in steps for t in s.writes}
    lines = ["flowchart LR"]
    tables: set[str] = set()
    edges: list[str] = []
    for step in steps:
        label = step.name + (" (by quarter)" if step.quarterly else "")
        shape = f'{_step_node(step)}["{label}"]' if step.sql is not None \
            else f'{_step_node(step)}(["{label}"])'
        lines.append(f"    {shape}")
        for table in step.reads:
            if table == SCOPE_TABLE and not stage:
                continue
            if table.startswith("stage_") and not stage:
                source = writer.get(table)
                if source is not None:
                    edges.append(f"    {_step_node(source)} --> {_step_node(step)}")
                continue
            tables.add(table)
            if table in writer and writer[table] is not step:
                edges.append(f"    {_step_node(writer[table])} --> {_node(table)}")
            edges.append(f"    {_node(table)} --> {_step_node(step)}")
        for table in (*step.writes, *step.extends):
            if table.startswith("stage_") and not stage:
                continue
            tables.add(table)
            edges.append(f"    {_step_node(step)} --> {_node(table)}")
    for table in sorted(tables):
        lines.append(f"    {_node(table)}[({table})]")
    seen: set[str] = set()
    for edge in edges:
        if edge not in seen:
            seen.add(edge)
            lines.append(edge)
    return "\n".join(lines) + "\n"
