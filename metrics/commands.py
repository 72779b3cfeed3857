"""The metrics subcommands of `hearth`: refresh, review, flags, watchlist, privacy-check.

Thin shells over metrics.api, which reads finished figures without pandas or scipy, so that
`hearth --help`, review and flags start about as fast as DuckDB imports (benchmarks/cli.py).
The privacy check solves equations (metrics.audit: pandas, scipy) and imports it when it runs.
These commands open the warehouse read-only.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import duckdb

from hearth.config import load_config
from hearth.errors import HearthError
from hearth.warehouse import AUDIENCE_TABLES, AUDIENCES, db_path, published_path
from metrics import api
from metrics.definitions import (
    ALPHA_WARNING,
    BY_KEY,
    REVIEW_KEYS,
    chance_sentence,
    state_words,
)
from metrics.presentation import format_figure, print_json

SIGNAL_WORDS = {"stopped_coming": "stopped coming", "no_contact_30_days": "no contact 30 days"}



def _open_read_only(db: str | None) -> duckdb.DuckDBPyConnection:
    path = db_path(db)
    if not Path(path).exists():
        raise HearthError(f"{path}: no warehouse here; load data first with `hearth ingest PATH`")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        raise HearthError(f"{path}: cannot open the warehouse ({exc}); is an ingest running?") \
            from None


def format_review(data: dict[str, Any]) -> str:
    lines = [f"{data['program']['name']} - quarterly review {data['quarter']} "
             f"(change against {data['previous_quarter']})", ""]
    width = max(len(BY_KEY[k].title) for k in REVIEW_KEYS)
    lines.append("Program")
    for key in REVIEW_KEYS:
        obj = data["program"]["indicators"][key]
        change = obj["change"]
        delta = change["delta"]
        shown = ""
        if delta is not None:
            scale = 100 if BY_KEY[key].kind in ("proportion", "survival") else 1
            shown = f"  change {delta * scale:+.1f}: {change['verdict']}"
        elif obj["status"] == "ok":
            shown = f"  change: {change['verdict']}"
        lines.append(f"  {BY_KEY[key].title:<{width}}  {format_figure(key, obj, False)}{shown}")
    warnings = [r for r in data["reliability"] if r["warning"] and r["policy"] == "pairwise"]
    for r in warnings:
        lines.append(f"  ! reliability of {r['construct']}: alpha {r['alpha']:.2f} is below "
                     f"{ALPHA_WARNING}; read its index with caution")
    lines.append("")
    lines.append("Groups")
    for gid, group in data["groups"].items():
        flags = ", ".join(f for f in group["flags"]) or "no flags"
        lines.append(f"  {gid} {group['name'] or ''} (size {group['size']}, "
                     f"{group['size_band']}): {flags}")
        # each flag's reason, with its figures: the review tells the group's story, not only
        # its flags' names (the same reasons as `hearth flags` and review --json's flag_reasons)
        for record in group.get("flag_reasons", []):
            lines.append(f"      ! {record['reason']}")
        for key in ("attendance_rate", "active_members", "sessions_held", "belonging",
                    "psychological_safety", "hosting_breadth"):
            lines.append(f"      {BY_KEY[key].title:<{width}}  "
                         f"{format_figure(key, group['indicators'][key])}")
    return "\n".join(lines)


def add_flag_reasons(data: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """What a reader of `hearth review --json` needs to find each group's story beside its
    figures: every raised flag with its plain-language reason, evidence and lifecycle, as
    `flag_reasons` (`flags` keeps the bare names). `records` are the review quarter's
    api.flags_records, read from marts.flags, which only ever holds what the read layer shows
    (a survey flag needs the group's figure released)."""
    for record in records:
        group = data["groups"].get(record["group_id"])
        if group is not None and record["state"] != "resolved":
            group.setdefault("flag_reasons", []).append(
                {k: record[k] for k in ("flag", "reason", "evidence", "state", "since")})
    for group in data["groups"].values():
        group.setdefault("flag_reasons", [])


def cmd_review(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    con = _open_read_only(args.db)
    group_ids = args.group if getattr(args, "group", None) else None
    try:
        with api.tables_known(con):
            data, flags = api.review_and_flags(con, args.quarter, config, group_ids=group_ids)
        add_flag_reasons(data, flags)
    finally:
        con.close()
    if args.json:
        print_json(data)
    else:
        print(format_review(data))
    return 0


def cmd_flags(args: argparse.Namespace) -> int:
    con = _open_read_only(args.db)
    try:
        with api.tables_known(con):
            quarter = api.resolve_quarter(con, args.quarter)
            records = api.flags_records(con, quarter)
            groups = api.groups_in_quarter(con, quarter)
    finally:
        con.close()
    if args.json:
        print_json(records)
        return 0
    if not any(r["state"] != "resolved" for r in records):
        print(f"{quarter}: no group flagged")
    for r in records:
        when = state_words(r["state"], r["since"], r["quarters"])
        print(f"{quarter} {r['group_id']} {r['flag']} ({when}): {r['reason']}")
    print(chance_sentence(groups))
    return 0


def cmd_watchlist(args: argparse.Namespace) -> int:
    con = _open_read_only(args.db)
    try:
        quarter = api.resolve_quarter(con, args.quarter)
        frame = api.watchlist(con, quarter, args.group)
    finally:
        con.close()
    records = [
        {k: (None if v is None or v != v else (str(v) if k == "last_attended" else v))
         for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    if args.json:
        print_json(records)
        return 0
    if not records:
        print(f"{quarter}: no member shows withdrawal signals")
    for r in records:
        print(f"{quarter} {r['group_id']} {r['member_name']} ({r['member_id']}): "
              f"{SIGNAL_WORDS.get(r['signal'], r['signal'])} - {r['reason']}")
    return 0


def cmd_privacy_check(args: argparse.Namespace) -> int:
    """Is any hidden survey figure determined by what was released? Exit 1 when one is."""
    # pandas and scipy: deferred so the other commands start fast
    from metrics import audit, pagedata

    config = load_config(args.config)
    con = _open_read_only(args.db)
    try:
        has_release = _has_tables(con, "release.figures")
        figures = audit.read_figures(con) if has_release else audit.read_figures_empty()
        update = _community_update_citations(con, config) \
            if has_release else {"quarters": 0, "cited": []}
        # Rostered members who do not coach: coaches are named beside their groups everywhere.
        members = [n for (n,) in con.execute(
            "SELECT DISTINCT name FROM core.members WHERE name NOT IN "
            "(SELECT coach FROM marts.groups WHERE coach IS NOT NULL)").fetchall()] \
            if _has_tables(con, "core.members", "marts.groups") else []
        # ... and everyone rostered, coaches too: no comment may name anyone
        roster = [n for (n,) in con.execute(
            "SELECT name FROM core.members UNION SELECT coach FROM core.groups").fetchall()] \
            if _has_tables(con, "core.members", "core.groups") else []
        agreeing = audit.agreeing_hidden_pools(con)
    finally:
        con.close()
    findings = audit.determined_hidden(figures)
    update["problems"] = [f"cites a figure that is not released: {x}"
                          for x in audit.unreleased_citations(figures, update["cited"])]
    audiences = [args.audience] if args.audience else list(AUDIENCES)
    snapshots = {}
    for audience in audiences:
        path = published_path(args.db, audience)
        if not path.exists():
            snapshots[audience] = {"snapshot": str(path), "problems": ["not published yet"]}
            continue
        with duckdb.connect(str(path), read_only=True) as snap:
            problems = audit.snapshot_problems(snap, AUDIENCE_TABLES[audience], figures,
                                               None if audience == "coach" else members,
                                               roster=roster)
            # the page tables hold only what the read layer computes from the snapshot itself
            problems += pagedata.differences(snap, config)
        snapshots[audience] = {"snapshot": str(path), "problems": problems}
    report = {
        "publications": int(figures["publication"].nunique()) if len(figures) else 0,
        "shown_figures": int((figures["role"] == "shown").sum()),
        "hidden_figures": int((figures["role"] == "hidden").sum()),
        "determined_hidden": [f.as_dict() for f in findings],
        # range reasoning, reported but not failed (audit.agreeing_hidden_pools)
        "agreeing_hidden_pools": agreeing,
        "audiences": snapshots,
        "community_update": {"quarters": update["quarters"], "cited": len(update["cited"]),
                             "problems": update["problems"]},
    }
    failed = bool(findings) or bool(update["problems"]) or any(
        s["problems"] and s["problems"] != ["not published yet"] for s in snapshots.values())
    if args.json:
        print_json(report)
    else:
        print(format_privacy_check(report))
    return 1 if failed else 0


def _has_tables(con: duckdb.DuckDBPyConnection, *names: str) -> bool:
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall()}
    return set(names) <= present


def _community_update_citations(con: duckdb.DuckDBPyConnection, config) -> dict[str, Any]:
    """Every released figure the community update (`hearth update`) would print, for each
    quarter it can be written for: the update is a publication too."""
    from metrics import api
    from metrics.going_well import community_update

    quarters = api.quarters(con)
    cited: list[dict[str, str]] = []
    for quarter in quarters:
        cited += community_update(con, None, quarter, config)["cites"]
    return {"quarters": len(quarters), "cited": cited}


def format_privacy_check(report: dict[str, Any]) -> str:
    found = report["determined_hidden"]
    lines = [
        f"{report['publications']} publication(s): {report['shown_figures']} survey figures "
        f"shown, {report['hidden_figures']} hidden; {len(found)} hidden figure(s) determined "
        "by the shown ones" + (":" if found else "."),
    ]
    for f in found:
        lines.append(f"  publication {f['publication']} {f['quarter']} {f['indicator']} "
                     f"{f['figure']}")
    agreeing = report.get("agreeing_hidden_pools") or []
    if agreeing:
        lines.append(
            f"{len(agreeing)} quarter x indicator(s) whose hidden responses all agree, so each "
            "hidden group's figure there follows from the program's by range reasoning (not "
            "prevented by suppression, see docs/privacy.md; reported, not failed):")
        for a in agreeing:
            named = [u for u in a["units"] if u] + \
                (["responses naming no known group"] if "" in a["units"] else [])
            lines.append(f"  {a['quarter']} {a['indicator']}: {', '.join(named)}")
    update = report["community_update"]
    if update["problems"]:
        lines.append("community update: " + "; ".join(update["problems"]))
    else:
        lines.append(f"community update: {update['cited']} released figure(s) cited over "
                     f"{update['quarters']} quarter(s), every one shown")
    for audience, snap in report["audiences"].items():
        if snap["problems"]:
            lines.append(f"{audience} snapshot: " + "; ".join(snap["problems"]))
        else:
            lines.append(f"{audience} snapshot: only its own tables, no email, every survey "
                         "figure released")
    return "\n".join(lines)


def register(sub) -> None:
    """Add review, flags and watchlist to the `hearth` subcommand parser."""
    p = sub.add_parser("review", help="the quarterly review: program KPIs and group indicators")
    p.add_argument("--quarter", help="e.g. 2025Q3 (default: the latest quarter with data)")
    p.add_argument("--group", action="append", help="limit to these groups (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("flags", help="struggling groups, with reasons and evidence")
    p.add_argument("--quarter", help="e.g. 2025Q3 (default: the latest quarter with data)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_flags)

    p = sub.add_parser("privacy-check",
                       help="is any hidden survey figure determined by the released ones?")
    p.add_argument("--audience", choices=["lead", "council", "coach"],
                   help="check this audience's snapshot only (default: every audience)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_privacy_check)

    p = sub.add_parser("watchlist", help="members showing withdrawal signals (coaches only)")
    p.add_argument("--quarter", help="e.g. 2025Q3 (default: the latest quarter with data)")
    p.add_argument("--group", help="one group's members only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_watchlist)
