"""What a load did, in words: the ingest summary and `hearth status`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from hearth import state
from hearth.warehouse import db_path

if TYPE_CHECKING:
    from pipelines.ingest import LoadSummary


def format_summaries(summaries: list[LoadSummary]) -> str:
    lines: list[str] = []
    for s in summaries:
        name = Path(s.file).name
        if s.error:
            lines.append(f"{s.file}: {s.error}")
            continue
        if s.already_loaded:
            lines.append(f"{name}: already loaded ({s.already_loaded}); 0 rows added")
            continue
        what = s.kind if s.format == "canonical" else f"{s.kind} from {s.format}"
        lines.append(
            f"{name} ({what}): read {s.rows_read} = loaded {s.rows_loaded} + duplicates "
            f"{s.rows_duplicate} + quarantined {s.rows_quarantined}"
        )
        if s.answers_quarantined:
            lines.append(f"  {s.answers_quarantined} single answers set aside (the rest of those "
                         "responses loaded)")
        for reason, n in list(s.quarantine_reasons.items())[:8]:
            lines.append(f"  quarantined {n}: {reason}")
        if len(s.quarantine_reasons) > 8:
            lines.append(f"  … {len(s.quarantine_reasons) - 8} more reasons: `hearth status` lists them")
        if s.dropped_columns:
            lines.append(f"  identifying columns dropped before storage: {', '.join(s.dropped_columns)}")
        if s.ignored_columns:
            lines.append(f"  columns ignored (not part of the format): {', '.join(s.ignored_columns)}")
        if s.guests:
            shown = ", ".join(s.guests[:10]) + (" …" if len(s.guests) > 10 else "")
            lines.append(f"  {len(s.guests)} participants matched no roster member (kept as guests): {shown}")
        lines += [f"  note: {note}" for note in s.notes + s.privacy_notes()]
    loaded = sum(s.rows_loaded for s in summaries)
    errors = sum(1 for s in summaries if s.error)
    total = f"{len(summaries)} file(s): {loaded} rows loaded"
    quarantined = sum(s.rows_quarantined for s in summaries if not s.error)
    if loaded == 0 and summaries and not errors:
        if quarantined:  # a first load where every row was turned away is not "loaded before"
            total += (f" (nothing loaded: {quarantined} rows quarantined, for the reasons above; "
                      "fix them and ingest again)")
        elif not any(s.rows_read or s.already_loaded for s in summaries):
            # a header and nothing under it is not "loaded before" either
            total += (" (nothing to load: the file(s) hold a header but no rows; export again "
                      "once there is data)")
        else:
            total += " (nothing new: everything here was loaded before)"
    if errors:
        total += f"; {errors} file(s) could not be read (see above)"
    lines.append(total)
    return "\n".join(lines)


def warehouse_status(db=None) -> dict:
    """Loads per file, quarantine totals by reason, and the latest data date per group."""
    path = db_path(db)
    if not path.exists():
        return {"warehouse": str(path), "files": [], "quarantine": [], "groups": []}
    con = duckdb.connect(str(path), read_only=True)
    try:
        def rows(sql: str) -> list[dict]:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

        files = rows(
            """SELECT load_id, file_name, kind, format, strftime(loaded_at, '%Y-%m-%d %H:%M') AS loaded_at,
                      rows_read, rows_loaded, rows_duplicate, rows_quarantined
               FROM raw.load_manifest ORDER BY load_id"""
        )
        quarantine = rows(
            """SELECT file_name, column_name, reason, count(*) AS rows
               FROM raw.quarantine GROUP BY ALL ORDER BY rows DESC, file_name, reason"""
        )
        # Survey freshness only as the release layer published it (the latest quarter with a
        # shown survey figure): when a hidden group's last response came in is about that group.
        released = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND table_name = 'indicators'").fetchone()[0]
        survey = ("(SELECT max(i.quarter) FROM marts.indicators i WHERE i.group_id = g.group_id "
                  "AND i.status = 'ok' AND i.indicator IN ('belonging', 'psychological_safety', "
                  "'peer_support', 'loneliness_share', 'willingness_to_lead'))"
                  ) if released else "NULL"
        groups = rows(
            f"""SELECT g.group_id, g.name,
                      CAST(max(s.session_date) AS VARCHAR) AS latest_session,
                      {survey} AS latest_survey_quarter
               FROM core.groups g LEFT JOIN core.sessions s USING (group_id)
               GROUP BY ALL ORDER BY g.group_id"""
        )
    finally:
        con.close()
    return {"warehouse": str(path), "files": files, "quarantine": quarantine, "groups": groups}


def format_status(status: dict) -> str:
    if not status["files"]:
        return f"{status['warehouse']}: nothing loaded yet. Try `hearth ingest data/sample`."
    out = [f"Warehouse {status['warehouse']}", "", "Files loaded:"]
    for f in status["files"]:
        out.append(
            f"  #{f['load_id']} {f['file_name']} ({f['kind']}, {f['format']}) {f['loaded_at']}: "
            f"{f['rows_loaded']} loaded, {f['rows_duplicate']} duplicates, {f['rows_quarantined']} quarantined"
        )
    out += ["", "Quarantine by reason:"]
    if not status["quarantine"]:
        out.append("  nothing quarantined")
    for q in status["quarantine"]:
        column = f"{q['column_name']}: " if q["column_name"] else ""
        out.append(f"  {q['rows']:>6}  {q['file_name']}  {column}{q['reason']}")
    out += ["", "Latest data per group:"]
    for g in status["groups"]:
        out.append(
            f"  {g['group_id']:<8} {g['name'][:32]:<32} last session {g['latest_session'] or '-'}"
            f"  survey figures to {g['latest_survey_quarter'] or '-'}"
        )
    return "\n".join(out)


UPLOAD_FIELDS = ("rows_read", "rows_loaded", "rows_duplicate", "rows_quarantined")


def upload_log(db=None, limit: int = 500) -> list[dict]:
    """Every dashboard upload, newest first, from the audit log in the state store: who, when,
    which file (name and content hash), what its rows became, and the error if it failed or was
    refused. Read without creating the state store when there is none yet."""
    if not state.state_path(db).exists():
        return []
    with state.state(db) as con:
        found = state.events(con, "upload", limit=limit)
    return [
        {"at": e["at"], "actor": e["actor"], "file_name": e["subject"],
         "content_hash": e["detail"].get("content_hash"),
         "size_bytes": e["detail"].get("size_bytes"),
         **{k: e["detail"].get(k) for k in UPLOAD_FIELDS},
         "members_changed": e["detail"].get("members_changed"),
         "error": e["detail"].get("error") or (
             f"already loaded ({e['detail']['already_loaded']})"
             if e["detail"].get("already_loaded") else None)}
        for e in found
    ]


def format_upload_log(db, uploads: list[dict]) -> str:
    if not uploads:
        return f"{db_path(db)}: no uploads recorded yet (files loaded with `hearth ingest` are in `hearth status`)."
    out = [f"Uploads to {db_path(db)}, newest first:"]
    for u in uploads:
        what = (f"error: {u['error']}" if u["error"] else
                f"read {u['rows_read']} = loaded {u['rows_loaded']} + duplicates "
                f"{u['rows_duplicate']} + quarantined {u['rows_quarantined']}")
        digest = (u["content_hash"] or "")[:12]
        out.append(f"  {u['at']}  {u['actor']}  {u['file_name']} ({digest})  {what}")
    return "\n".join(out)
