"""What Zoom's three participant reports share: the segment table and the meeting block.

Not a format itself (the registry skips modules whose name starts with '_').
"""

from __future__ import annotations

from pathlib import Path

from hearth.config import Config
from pipelines.adapters.attendance import (
    Clock,
    Meeting,
    Segment,
    bad_time,
    reported_minutes,
    sample_times,
)
from pipelines.adapters.base import AdapterError
from pipelines.adapters.common import (
    Row,
    TimeFormatError,
    cell,
    find_header,
    norm_header,
    read_file_rows_in_language,
    table,
)

ZOOM_TABLE = {"join time", "leave time"}

# Zoom writes the report in the web portal's language. Only the words seen in real exports are
# here (docs/formats.md lists which languages are verified and which are not).
ZOOM_WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "名前 (元の名前)": "name (original name)",
        "名前(元の名前)": "name (original name)",
        "ユーザーメール": "user email",
        "参加時刻": "join time",
        "退出時刻": "leave time",
        "所要時間（分）": "duration (minutes)",
        "所要時間(分)": "duration (minutes)",
    },
    # Spanish: two wordings of the participant table. Older files say 'Hora para unirse',
    # newer ones 'Hora de entrada' (sources for each word in docs/formats.md).
    "es": {
        "nombre (nombre original)": "name (original name)",
        "e-mail del usuario": "user email",
        "correo electrónico": "user email",
        "hora para unirse": "join time",
        "hora para salir": "leave time",
        "hora de entrada": "join time",
        "hora de salida": "leave time",
        "duración (minutos)": "duration (minutes)",
        "invitado": "guest",
        "respuesta al descargo de responsabilidad relativa a la grabación": "recording consent",
        "en sala de espera": "in waiting room",
    },
    # Portuguese (Brazil): 'Ingressar na hora' is Zoom's own wording for the join time.
    "pt": {
        "nome (nome original)": "name (original name)",
        "e-mail": "user email",
        "ingressar na hora": "join time",
        "hora de saída": "leave time",
        "duração (minutos)": "duration (minutes)",
        "convidado": "guest",
        "na sala de espera": "in waiting room",
    },
    # Italian: the participant table and the newer meeting block (Argomento, ID,
    # Organizzatore, ...); 'Guest' stays English.
    "it": {
        "nome (nome originale)": "name (original name)",
        "ora di ingresso": "join time",
        "ora di uscita": "leave time",
        "durata (minuti)": "duration (minutes)",
        "risposta di esclusione di responsabilità per la registrazione": "recording consent",
        "in sala d’attesa": "in waiting room",
        "in sala d'attesa": "in waiting room",
        "argomento": "topic",
        "organizzatore": "host",
        "ora di inizio": "start time",
        "ora di fine": "end time",
        "partecipanti": "participants",
    },
}

# Languages whose meeting-block words (Topic, Host, Start time, ...) were seen too: only these
# are offered for the reports with a meeting block. A Spanish or Portuguese file with a block
# is read as the classic report (its table is the same), its meeting id from the file name.
ZOOM_NEW_WORDS = {lang: ZOOM_WORDS[lang] for lang in ("it",)}

# 'Yes' in the In Waiting Room (and Guest) column in the languages above: 'Sí', 'Sim', 'Sì'.
WAITING_YES = {"yes", "true", "y", "sí", "si", "sim", "sì"}


def zoom_segments(meeting: Meeting, clock: Clock, header: list[str], data: list[Row]) -> None:
    for row in data:
        meeting.rows_read += 1
        waiting = cell(header, row, "in waiting room").strip().lower() in WAITING_YES
        if waiting:
            meeting.excluded += 1
            continue
        try:
            join = clock.read(cell(header, row, "join time"))
            leave = clock.read(cell(header, row, "leave time"))
        except TimeFormatError as exc:
            bad_time(meeting, row, "join time/leave time", exc)
            continue
        meeting.segments.append(
            Segment(
                line=row.line,
                name=cell(header, row, "name (original name)", "name", "participant"),
                email=cell(header, row, "user email", "email"),
                join=join, leave=leave,
                minutes=reported_minutes(cell(header, row, "duration (minutes)")),
            )
        )


def zoom_table(rows: list[Row], path: Path, start: int = 0) -> tuple[list[str], list[Row]]:
    hi = find_header(rows, ZOOM_TABLE, start)
    if hi is None:
        raise AdapterError(
            f"{path}: no participant table (a header with Join Time and Leave Time) found; "
            "export the participant report again from Zoom's Reports > Usage page"
        )
    return table(rows, hi)


def zoom_block(path: Path, config: Config, signature: set[str], shown: str):
    """A Zoom report with a meeting block: (the block's cell reader, the segment table, clock)."""
    rows, _, language = read_file_rows_in_language(path, ZOOM_WORDS)
    bi = find_header(rows, signature)
    if bi is None or bi + 1 >= len(rows):
        if find_header(rows, {"name (original name)"} | ZOOM_TABLE) is not None:
            raise AdapterError(
                f"{path}: no meeting block ({shown}) found: this is Zoom's participant report "
                "without meeting data; ingest it without --format (it is recognised as "
                "zoom_classic) or with --format zoom_classic"
            )
        raise AdapterError(
            f"{path}: no meeting block ({shown}) found; export the participant report again "
            "from Zoom's Reports > Usage page, or check --format (`hearth formats`)"
        )
    block_header = [norm_header(c) for c in rows[bi].cells]
    block = rows[bi + 1]
    header, data = zoom_table(rows, path, bi + 2)

    def block_cell(*names: str) -> str:
        return cell(block_header, block, *names)

    samples = sample_times(header, data, "join time", "leave time")
    samples += [block_cell("start time"), block_cell("end time")]
    return block_cell, header, data, Clock(path, config, samples, language=language)

