"""The `hearth` command. Each subcommand is a thin shell over a library function.

Every expected failure (bad file, bad config, unknown quarter) is raised as a HearthError or
ConfigError whose message names the file, the problem and the fix; main() prints that one
line and exits non-zero. Nothing a user can cause ends in a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import threading
import time
from pathlib import Path

from hearth.config import CONFIG_TEMPLATE, load_config
from hearth.errors import HearthError
from metrics.presentation import print_json

# --- pipelines: files in, warehouse out ------------------------------------------------------

def cmd_init(args) -> int:
    target = Path(args.path)
    if target.exists() and not args.force:
        raise HearthError(f"{target}: already exists; pass --force to overwrite it")
    target.write_text(CONFIG_TEMPLATE.format(name=args.name, time_zone=args.time_zone), encoding="utf-8")
    print(f"wrote {target}: edit [meetings] to map your meeting ids or titles to groups")
    return 0


PROGRESS_DELAY = 2.0  # seconds a file may load before its progress line appears


class TerminalProgress:
    """Progress of a long load on a terminal: a file still loading after `delay` seconds gets a
    line naming it, its size and its place in the run; when it ends, the line gains the rows
    read and the time taken. Quick files stay silent. Written to stderr, so stdout keeps only
    the summary (and `--json` output is never mixed with it)."""

    def __init__(self, stream, delay: float = PROGRESS_DELAY):
        self.stream = stream
        self.delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._shown = False
        self._done = True
        self._started = 0.0

    def started(self, path: Path, number: int, total: int) -> None:
        size = path.stat().st_size if path.is_file() else 0
        text = f"loading {path.name} ({size / 1e6:,.1f} MB, file {number} of {total})…"
        with self._lock:
            self._shown, self._done, self._started = False, False, time.monotonic()
        if self.delay <= 0:
            self._show(text)
        else:
            self._timer = threading.Timer(self.delay, self._show, [text])
            self._timer.daemon = True
            self._timer.start()

    def _show(self, text: str) -> None:
        with self._lock:
            if self._done:
                return
            self.stream.write(text)
            self.stream.flush()
            self._shown = True

    def finished(self, summary) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._done = True
            if self._shown:
                took = time.monotonic() - self._started
                what = "failed" if summary.error else f"{summary.rows_read:,} rows read"
                self.stream.write(f" {what} in {took:,.1f} s\n")
                self.stream.flush()


def cmd_ingest(args) -> int:
    from hearth.orchestrate import ingest
    from pipelines.ingest import expand
    from pipelines.ingest.discover import SUFFIXES
    from pipelines.report import format_summaries

    config = load_config(args.config)
    if not expand(args.paths):
        raise HearthError(
            f"{', '.join(args.paths)}: no data files here; Hearth reads "
            f"{', '.join(SUFFIXES[:-1])} and {SUFFIXES[-1]} files"
        )
    # Progress only for a person at a terminal, never inside machine-read (--json) output.
    progress = (TerminalProgress(sys.stderr, PROGRESS_DELAY)
                if sys.stderr.isatty() and not args.json else None)
    summaries = ingest(
        args.paths, db=args.db, config=config, kind=args.kind, fmt=args.format,
        refresh_after=not args.no_refresh, progress=progress,
    )
    if args.json:
        print_json([s.as_dict() for s in summaries])
    else:
        print(format_summaries(summaries))
    return 1 if any(s.error for s in summaries) else 0


def cmd_refresh(args) -> int:
    from hearth.orchestrate import refresh_and_publish

    counts = refresh_and_publish(args.db, load_config(args.config))
    if args.json:
        print_json(counts)
    else:
        for table, rows in counts.items():
            print(f"marts.{table}: {rows} rows")
    return 0


def cmd_status(args) -> int:
    from pipelines.report import format_status, format_upload_log, upload_log, warehouse_status

    if args.uploads:
        uploads = upload_log(db=args.db)
        if args.json:
            print_json(uploads)
        else:
            print(format_upload_log(args.db, uploads))
        return 0
    status = warehouse_status(db=args.db)
    if args.json:
        print_json(status)
    else:
        print(format_status(status))
    return 0


def cmd_formats(args) -> int:
    from pipelines.adapters import format_list

    print(format_list())
    return 0


def cmd_synth(args) -> int:
    from pipelines.synth import synthesize

    written = synthesize(
        out=Path(args.out), members=args.members, groups=args.groups,
        quarters=args.quarters, seed=args.seed,
    )
    for path, rows in written.items():
        print(f"{path}: {rows} rows")
    return 0


def cmd_dashboard(args) -> int:
    from dashboard.launch import run_dashboard

    return run_dashboard(db=args.db, audience=args.audience, port=args.port, config=args.config,
                         host=args.host, secrets=args.secrets)


def cmd_access(args) -> int:
    """Who has which role, and each coach's groups (from the published groups, if any)."""
    import duckdb

    from hearth.access import access_summary, format_access
    from hearth.warehouse import published_path
    from metrics import api

    config = load_config(args.config)
    coaches: dict[str, str | None] = {}
    names: dict[str, str] = {}
    snapshot = published_path(args.db)
    if snapshot.exists():
        try:
            with duckdb.connect(str(snapshot), read_only=True) as con:
                groups = api.groups(con)
        except duckdb.Error as exc:
            raise HearthError(f"{snapshot}: cannot read the published groups ({exc}); "
                              "run `hearth refresh`") from None
        coaches = {str(g): (None if c is None or c != c else str(c))
                   for g, c in zip(groups["group_id"], groups["coach"], strict=True)}
        names = {str(g): str(n) for g, n in zip(groups["group_id"], groups["name"], strict=True)}
    summary = access_summary(config.access, coaches, names)
    if args.json:
        print_json({"config": str(config.source) if config.source else None, **summary})
    else:
        print(format_access(summary, str(config.source) if config.source else None))
    return 0


# --- the review cycle: actions, sign-off, the community update --------------------------------
# The CLI is the data steward's tool on their own machine: it acts as the lead (local mode).

def _cycle_setup(args):
    from hearth.access import local_viewer
    from hearth.state import open_state
    from metrics.commands import _open_read_only

    return _open_read_only(args.db), open_state(args.db), local_viewer("lead")


def _action_line(a: dict) -> str:
    where = "program" if a["group_id"] is None else a["group_id"] + (
        f" ({a['flag']})" if a["flag"] else "")
    due = f", due {a['due_on']}" if a["due_on"] else ""
    return (f"#{a['action_id']} {a['quarter']} {where} [{a['status']}] {a['what']} "
            f"- owner {a['owner']}{due}; aims at {', '.join(a['indicators'])}")


def cmd_actions(args) -> int:
    from hearth import actions as store
    from metrics import followup

    con, state_con, viewer = _cycle_setup(args)
    try:
        config = load_config(args.config)
        if args.actions_command == "add":
            result = followup.plan_action(
                con, state_con, viewer, what=args.what, quarter=args.quarter,
                group_id=args.group, flag=args.flag, indicators=args.indicator,
                owner=args.owner, due_on=args.due, status=args.status, notes=args.notes or "")
            out = [result]
        elif args.actions_command == "update":
            changes = {k: v for k, v in {
                "status": args.status, "what": args.what, "owner": args.owner,
                "due_on": args.due, "notes": args.notes, "indicators": args.indicator,
            }.items() if v is not None}
            if not changes:
                raise HearthError("nothing to change; pass --status, --what, --owner, --due, "
                                  "--notes or --indicator")
            out = [followup.change_action(state_con, viewer, args.id, **changes)]
        elif args.actions_command == "show":
            report = followup.follow_up(con, state_con, viewer, config, args.id)
            report["history"] = store.history(state_con, viewer, args.id)
            if args.json:
                print_json(report)
            else:
                print(_action_line(report["action"]))
                print("\n".join("  " + line for line in followup.follow_up_lines(report)))
            return 0
        else:
            out = store.list_actions(state_con, viewer, quarter=args.quarter,
                                     group_ids=args.group, statuses=args.status)
    finally:
        con.close()
        state_con.close()
    if args.json:
        print_json(out)
    elif not out:
        print("no actions yet; add one with `hearth actions add --group G --what TEXT`")
    else:
        print("\n".join(_action_line(a) for a in out))
    return 0


def cmd_signoff(args) -> int:
    from metrics import signoff

    con, state_con, viewer = _cycle_setup(args)
    try:
        config = load_config(args.config)
        if args.check:
            from metrics import api

            quarter = api.resolve_quarter(con, args.quarter)
            result = signoff.since_signoff(con, state_con, config, quarter)
            if result is None:
                raise HearthError(f"{quarter} has not been signed off; sign it with "
                                  f"`hearth signoff --quarter {quarter}`")
        else:
            result = signoff.sign_off(con, state_con, viewer, config, args.quarter,
                                      note=args.note or "")
            result = {k: v for k, v in result.items() if k != "figures"}
    finally:
        con.close()
        state_con.close()
    if args.json:
        print_json(result)
    elif args.check:
        print(f"{result['quarter']} signed off by {result['signed_by']} at {result['signed_at']}")
        for load in result["late_loads"]:
            print(f"  loaded later: {load['file_name']} ({load['kind']}, "
                  f"{load['rows_in_quarter']} rows of {result['quarter']}) at {load['loaded_at']}")
        for change in result["changes"]:
            print(f"  changed: {change['unit']} {change['title']}: signed {change['signed']}, "
                  f"now {change['now']}")
        if not result["late_loads"] and not result["changes"]:
            print("  nothing has changed since the sign-off")
    else:
        print(f"signed off {result['quarter']} as {result['signed_by']} at "
              f"{result['signed_at']}; its figures are kept as signed")
    return 0


def cmd_update(args) -> int:
    from dashboard.community_update import render
    from metrics.going_well import community_update

    con, state_con, _ = _cycle_setup(args)
    try:
        text = render(community_update(con, state_con, args.quarter, load_config(args.config)),
                      args.format)
    finally:
        con.close()
        state_con.close()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def register_cycle(sub) -> None:
    """actions, signoff and update."""
    p = sub.add_parser("actions", help="action plans from the review: list, add, update, show")
    acts = p.add_subparsers(dest="actions_command", required=True, metavar="ACTION")
    q = acts.add_parser("list", help="the actions, oldest first")
    q.add_argument("--quarter", help="decided in this quarter only")
    q.add_argument("--group", action="append", help="these groups only (repeatable)")
    q.add_argument("--status", action="append", help="planned, doing, done or dropped")
    q.add_argument("--json", action="store_true")
    q = acts.add_parser("add", help="record an action on a flag, a group or the program")
    q.add_argument("--what", required=True, help="what will be done, in a few words")
    q.add_argument("--group", help="the group (leave out for a program-wide action)")
    q.add_argument("--flag", help="the group's flag it answers (e.g. low_safety)")
    q.add_argument("--indicator", action="append",
                   help="an indicator it aims to move (repeatable; default: the flag's)")
    q.add_argument("--quarter", help="the quarter it was decided in (default: the latest)")
    q.add_argument("--owner", help="who owns it (default: you)")
    q.add_argument("--due", help="due date, e.g. 2026-09-30")
    q.add_argument("--status", default="planned", help="planned, doing, done or dropped")
    q.add_argument("--notes")
    q.add_argument("--json", action="store_true")
    q = acts.add_parser("update", help="change an action's status, owner, due date, ...")
    q.add_argument("id", type=int)
    q.add_argument("--status", help="planned, doing, done or dropped")
    q.add_argument("--what")
    q.add_argument("--owner")
    q.add_argument("--due")
    q.add_argument("--notes")
    q.add_argument("--indicator", action="append")
    q.add_argument("--json", action="store_true")
    q = acts.add_parser("show", help="one action's follow-up: before, after and comparison")
    q.add_argument("id", type=int)
    q.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_actions)

    p = sub.add_parser("signoff", help="sign off a quarter: keep its figures as signed")
    p.add_argument("--quarter", help="e.g. 2026Q2 (default: the latest quarter with data)")
    p.add_argument("--note", help="a line kept with the sign-off")
    p.add_argument("--check", action="store_true",
                   help="show what changed since the quarter was signed off instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_signoff)

    p = sub.add_parser("update", help="the community update for members (Markdown or HTML)")
    p.add_argument("--quarter", help="e.g. 2026Q2 (default: the latest quarter with data)")
    p.add_argument("--format", choices=["md", "html"], default="md")
    p.add_argument("--out", help="write to this file instead of printing")
    p.set_defaults(func=cmd_update)


class _Forgotten:
    """Stands in for the parser of a command that is not running: whatever is declared on it
    (arguments, defaults, nested subcommands) is accepted and forgotten."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self


class _Unbuilt:
    """The parser of a command that is not running, as the subcommands hold it. It is asked
    to parse only when the command word was misread; it then takes every argument and sets no
    `func`, and main builds every command and parses again."""

    def parse_known_args(self, args=None, namespace=None):
        return argparse.Namespace(), []


class _Subcommands(argparse._SubParsersAction):
    """The subcommands, of which only `running` gets a parser.

    Every command is still registered with its name and help, so `hearth --help` and an unknown
    command's error list them all; building all 19 parsers in full on every start (argparse
    looks up translations for each) cost a tenth of `hearth review`'s start-up under load, and
    the 18 empty parsers of the commands not running still cost 3-4 ms of `hearth status`'s
    (docs/benchmarks.md, CLI start-up). `running=None` builds every one (tests, docs)."""

    running: str | None = None
    built: list[argparse.ArgumentParser]

    def add_parser(self, name, **kwargs):
        if self.running is None or name == self.running:
            parser = super().add_parser(name, **kwargs)
            self.built.append(parser)
            return parser
        # what argparse's add_parser records for --help and the choices, without the parser
        aliases = kwargs.get("aliases", ())
        if "help" in kwargs:
            self._choices_actions.append(self._ChoicesPseudoAction(name, aliases, kwargs["help"]))
        for word in (name, *aliases):
            self._name_parser_map[word] = _Unbuilt()
        return _Forgotten()


# Options that take a value, before or after the command: skipped when looking for the command.
_GLOBAL_OPTIONS = ("--db", "--config")


def _command_in(argv: list[str]) -> str | None:
    """The command word in `argv` (the first argument that is neither an option nor the value
    of a global option), or None when there is none (`hearth --help`)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif len(arg) > 2 and any(option.startswith(arg) for option in _GLOBAL_OPTIONS):
            skip = True  # (argparse takes "--conf" for "--config" too)
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(running: str | None = None) -> argparse.ArgumentParser:
    """The `hearth` parser; with `running`, only that command's own arguments are built."""
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Is the small-group program reducing member isolation? Load, measure, review.",
    )
    parser.add_argument("--db", help="warehouse file (default: $HEARTH_DB or ./hearth.duckdb)")
    parser.add_argument("--config", help="hearth.toml (default: $HEARTH_CONFIG or ./hearth.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                action=_Subcommands)
    sub.running, sub.built = running, []

    p = sub.add_parser("init", help="write a commented hearth.toml to start from")
    p.add_argument("path", nargs="?", default="hearth.toml")
    p.add_argument("--name", default="Our program")
    p.add_argument("--time-zone", default="UTC", help="IANA zone for exports without one")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("ingest", help="load canonical CSVs or tool exports (files or folders)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--kind", help="force the canonical entity: groups, members, sessions, attendance, buddy_checkins, survey_responses")
    p.add_argument("--format", help="force a tool export format (see `hearth formats`)")
    p.add_argument("--no-refresh", action="store_true", help="skip rebuilding the indicators afterwards")
    p.add_argument("--json", action="store_true", help="print the load summary as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("status", help="what is loaded, what was quarantined, how fresh each group is")
    p.add_argument("--json", action="store_true")
    p.add_argument("--uploads", action="store_true",
                   help="the dashboard's upload audit log instead: who uploaded what, when, and what it did")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("synth", help="write a realistic synthetic community in the canonical formats")
    p.add_argument("--members", type=int, default=220)
    p.add_argument("--groups", type=int, default=20)
    p.add_argument("--quarters", type=int, default=6)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default="data/synth")
    p.set_defaults(func=cmd_synth)

    # --- further subcommands register below (formats, refresh, review, flags, watchlist, dashboard)
    p = sub.add_parser("formats", help="list the meeting and survey tool exports Hearth reads")
    p.set_defaults(func=cmd_formats)

    p = sub.add_parser("refresh", help="rebuild the indicators (marts) from the loaded data")
    p.add_argument("--json", action="store_true", help="print rows per table as JSON")
    p.set_defaults(func=cmd_refresh)

    from metrics.commands import register as register_metrics

    register_metrics(sub)  # review, flags, watchlist
    register_cycle(sub)  # actions, signoff, update

    p = sub.add_parser("dashboard", help="serve the dashboard: with sign-in for the whole program, "
                                         "or locally for one user (lead, council or coach view)")
    p.add_argument("--audience", choices=["lead", "council", "coach"], default=None,
                   help="local mode's view (default lead): council sees aggregates only; coach "
                        "adds member-level views. With sign-in, each person's role decides")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="localhost",
                   help="address to listen on; anything but localhost needs sign-in ([auth])")
    p.add_argument("--secrets", metavar="PATH",
                   help="Streamlit secrets.toml with the [auth] sign-in settings "
                        "(default: ./.streamlit/secrets.toml or ~/.streamlit/secrets.toml)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("access", help="who has which role in [access], and each coach's groups")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_access)
    # `hearth ingest data/ --config hearth.toml` reads as naturally as `hearth --config ... ingest`:
    # every command takes the two global options too (SUPPRESS: given before the command, they stay)
    for command in sub.built:
        command.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        command.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


# The commands that only read and print: a `hearth` process running one ends once it has answered.
_ENDS_AT_ONCE = frozenset({"status", "formats", "review", "flags", "watchlist", "access"})


def main(argv: list[str] | None = None) -> int:
    if argv is not None:  # called from Python (tests, scripts): back to the caller
        return _run(argv)
    ends_at_once = _command_in(sys.argv[1:]) in _ENDS_AT_ONCE
    if ends_at_once:
        # A read command's process lives a fraction of a second and builds no cycles worth
        # collecting: the collector's passes over what it imports (DuckDB's modules) cost
        # `hearth review --json` 10 M of its 740 M instructions (callgrind).
        gc.disable()
    code = _run(sys.argv[1:])
    if ends_at_once:
        # The `hearth` process itself, after a command that only reads: it has closed its
        # read-only connection and has nothing left to write, and Python's own exit (freeing
        # every module's objects, DuckDB's included, through the cycle collector) cost as
        # much as a tenth of `python -c "import duckdb"` (37 M of its 481 M instructions,
        # callgrind). The answer is flushed and the process ends.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BrokenPipeError):  # `hearth review | head`: reader gone
                stream.flush()
        os._exit(code)
    return code


def _run(argv: list[str]) -> int:
    # Only the command that runs is built; an unknown word builds none, and argparse names
    # the real ones in its error.
    args = build_parser(running=_command_in(argv) or "").parse_args(argv)
    if not hasattr(args, "func"):  # the command word was misread: build every command
        args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HearthError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `hearth review | head`: the reader has gone; nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit either
        return 0
    except KeyboardInterrupt:
        print("hearth: interrupted; the file being loaded was rolled back", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
