"""Survey tool exports -> canonical survey responses, anonymous by construction.

Each tool's reader (one module per format under pipelines/adapters/formats/) turns its file into a SurveyTable: the columns (with the question texts a
column may stand for), the response records with their line numbers, when each was submitted,
and whether it was completed. `build_survey` then does what is common: drop identifying columns
before anything else touches the data, map questions to instrument items, turn labels into
numbers, and quarantine what does not fit (naming the column and the reason, never the answer).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.config import Config
from hearth.instrument import Instrument
from pipelines.adapters.base import AdapterError, Parsed
from pipelines.adapters.common import (
    EXCEL_SERIAL_NOTE,
    Row,
    TimeFormatError,
    decide_month_first,
    excel_serial,
    find_header,
    iso,
    norm_header,
    parse_datetime,
    question_code,
    survey_quarter,
    table_start,
)
from pipelines.scrub import IDENTIFYING_TERMS, identifying_question, looks_like_a_value


@dataclass
class Column:
    index: int
    label: str                 # as the export names it (for messages and dropped_columns)
    texts: list[str]           # question texts the column may stand for, best first
    role: str = "question"     # question, metadata, submitted, identifying


@dataclass
class SurveyTable:
    columns: list[Column]
    records: list[Row]
    zone: ZoneInfo                               # zone of times that carry none
    zone_note: str = ""
    complete: Callable[[list[str]], bool] = lambda cells: True
    incomplete_note: str = ""
    notes: list[str] = field(default_factory=list)
    raw_times: list[object] | None = None        # .xlsx: the submitted cell as a datetime
    # The normalised header of the tool's own response id ('responseid', 'respondent id', 'id',
    # '#'): kept apart from the answers and stored only as a keyed hash, so a re-export is
    # recognised while two people who answered alike in the same second stay two responses.
    response_id_header: str = ""
    # LimeSurvey's 'answer codes and full answers': 'Agree (6)' is the label, then the code.
    answer_codes: bool = False


METADATA = {
    "start time", "completion time", "last modified time", "start date", "end date",
    "startdate", "enddate", "status", "progress", "duration (in seconds)", "finished",
    "recordeddate", "distributionchannel", "userlanguage", "lastpage", "startlanguage",
    "datestamp", "seed", "response type", "start date (utc)", "stage date (utc)",
    "submit date (utc)", "submitted at", "tags", "timestamp", "submitdate", "ending",
}
COMMENT_TEXTS = {
    "comment", "comments", "any other comments", "anything else you'd like to tell us",
}
_OUT_FIXED = ["survey_id", "submitted_at", "group_id"]


def _question_key(text: str) -> str:
    """Question text for matching: case, spacing and curly quotes folded, end punctuation off."""
    t = unicodedata.normalize("NFC", str(text)).replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    t = t.replace("\u201d", '"')
    return " ".join(t.lower().split()).rstrip(" .?!:")


def grid_texts(header: str) -> list[str]:
    """'Question [Row]' (Google Forms grids, LimeSurvey full text): the whole, then the row."""
    m = re.fullmatch(r"\s*(.*?)\s*\[(.+)\]\s*", header)
    return [header, m[2]] if m and m[1] else [header]


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, datetime):  # (pandas Timestamps too: they are datetimes)
        return value.isoformat(sep=" ")
    return str(value).strip()


def program_zone(config: Config) -> ZoneInfo:
    return ZoneInfo(config.time_zone)


def _no_zone_note(config: Config) -> str:
    return f"times had no zone; read as {config.time_zone} (program.time_zone)"


# --- what several readers share -------------------------------------------------------------------------------------


def simple_table(path: Path, rows: list[Row], submitted: str, config: Config) -> SurveyTable:
    rows = rows[table_start(rows):]
    header = rows[0].cells if rows else []
    cols = []
    for i, h in enumerate(header):
        key = norm_header(h)
        role = "submitted" if key == submitted else "metadata" if key in METADATA else "question"
        cols.append(Column(i, h, grid_texts(h), role))
    if not any(c.role == "submitted" for c in cols):
        raise AdapterError(f"{path}: no {submitted!r} column; export the responses again")
    return SurveyTable(cols, [r for r in rows[1:] if not r.blank()], program_zone(config))


def is_response(cells: list[str], time_columns: list[int], id_columns: list[int]) -> bool:
    """A response row, told by its content rather than its position: a start / end / recorded
    time that reads as a date and time, or a respondent / response id that looks like one
    (digits, Qualtrics' R_...). Header rows hold column names or nothing in those places."""
    for i in time_columns:
        if i < len(cells) and cells[i].strip():
            try:
                parse_datetime(cells[i], ZoneInfo("UTC"))
                return True
            except TimeFormatError:
                pass
    return any(i < len(cells) and RESPONSE_ID.fullmatch(cells[i].strip()) for i in id_columns)


RESPONSE_ID = re.compile(r"\d+|R_[A-Za-z0-9]{6,}")


def header_index(path: Path, rows: list[Row], required: set[str], tool: str) -> int:
    """The tool's first header row, found by the column names it must hold (never assumed to be
    the first line). The message names the columns expected, never a value from the file."""
    at = find_header(rows[:HEADER_SEARCH], required)
    if at is None:
        raise AdapterError(
            f"{path}: no header row naming {', '.join(sorted(required))}; this is not a {tool} "
            "export as the tool writes it (download it again without editing it)"
        )
    return at


HEADER_SEARCH = 20  # header rows sit within the first lines of an export


# --- the common part -----------------------------------------------------------------------------


# LimeSurvey's own answer codes for a list of options (A1, A2, ... or A001), exported when
# 'Answer codes' is chosen instead of 'Full answers'.
ANSWER_CODE = re.compile(r"A\d{1,3}", re.IGNORECASE)
_CODED = re.compile(r"^(?P<label>.*\S)\s*\((?P<code>[^()]+)\)$")


def _coded_answer(instrument: Instrument, item_id: str, value: str) -> int | None:
    """'Agree (6)': the label if the label map knows it, else the answer code if it is a number
    on the item's scale."""
    m = _CODED.match(value)
    if not m:
        return None
    found = instrument.answer_value(item_id, m["label"])
    return found if found is not None else instrument.answer_value(item_id, m["code"])


def _targets(config: Config, instrument: Instrument) -> dict[str, str]:
    """Normalised question text -> item id (or comment / group_id / survey_id)."""
    targets = {_question_key(i.text): i.item_id for i in instrument.items}
    targets.update({t: "comment" for t in COMMENT_TEXTS})
    targets.update({"survey_id": "survey_id", "survey id": "survey_id", "group_id": "group_id"})
    targets.update({_question_key(k): v for k, v in config.question_aliases.items()})
    return targets


def _shown(col: Column, quoted: bool = True) -> str:
    """A column as messages name it: its header label, unless the label holds what looks like a
    respondent's answer (an email, a phone number, an address: a data row read as a header in
    a malformed export). Then only its position: no message ever echoes an answer."""
    if looks_like_a_value(col.label):
        return f"column {col.index + 1}"
    return repr(col.label) if quoted else col.label


def build_survey(
    path: Path, fmt: str, t: SurveyTable, config: Config, instrument: Instrument
) -> Parsed:
    targets = _targets(config, instrument)
    valid = set(instrument.item_ids) | {"comment", "group_id", "survey_id"}
    bad_alias = sorted({v for v in config.question_aliases.values() if v not in valid})
    if bad_alias:
        raise AdapterError(
            f"{path}: [survey.aliases] maps questions to {', '.join(bad_alias)}, which the "
            f"instrument does not have; use one of {', '.join(instrument.item_ids)}, comment, "
            "group_id or survey_id"
        )

    mapped: dict[int, str] = {}
    dropped: list[str] = []
    unmatched: list[str] = []
    notes = list(t.notes)
    for col in t.columns:
        if col.role == "submitted":
            continue
        # By column id AND question text, in every language pipelines.scrub knows: "Q4" asking
        # "Your e-mail (so your coach can follow up)" is as identifying as a column "Email".
        # A label holding an email, a phone or an address is an answer read as a header.
        identifying = looks_like_a_value(col.label) or any(
            identifying_question(x) for x in [col.label, *col.texts] if x)
        target = next((targets[k] for k in map(_question_key, col.texts) if k in targets), None)
        if target is None and col.role == "question" and any(
            re.search(r"\bgroup\b", _question_key(x)) for x in col.texts
        ):
            target = "group_id"  # "Which group are you in?"
        if target in {"comment", "group_id", "survey_id"} and identifying:
            target = None  # an alias never carries an email or a name into the comment
        if target is not None:
            if target in mapped.values():
                notes.append(f"column {_shown(col)} also maps to {target}; the first one is used")
                continue
            mapped[col.index] = target
            continue
        if identifying:
            dropped.append(_shown(col, quoted=False))
        elif col.role == "question" and col.label.strip():
            unmatched.append(_shown(col, quoted=False))
    if not any(v in instrument.item_ids for v in mapped.values()):
        sample = "; ".join(u if u.startswith("column ") else repr(u) for u in unmatched[:3]) or "(none)"
        raise AdapterError(
            f"{path}: no question matched an item of the instrument (questions: {sample}); "
            "add lines under [survey.aliases] in hearth.toml mapping the question text to an "
            'item id, e.g. "I feel at home in my group" = "bel_1"'
        )
    uncovered = [lang for lang in instrument.languages if lang not in IDENTIFYING_TERMS]
    if uncovered:
        notes.append(
            f"answer labels are configured in {', '.join(uncovered)}, a language whose identifying "
            "questions Hearth recognises by column id only (free text is still scrubbed); check "
            "that no question asking for a name, email or phone survives among the columns"
        )
    if unmatched:
        unmatched = list(dict.fromkeys(unmatched))  # a matrix question over several columns
        notes.append(f"questions not in the instrument, ignored: {', '.join(unmatched)}")

    submitted_index = next((c.index for c in t.columns if c.role == "submitted"), None)
    if submitted_index is None:
        raise AdapterError(
            f"{path}: no submission time column (RecordedDate / EndDate / Timestamp); download "
            "the responses again with the tool's standard columns"
        )
    # Times written as text (a CSV, or a workbook whose dates Excel kept as text after a
    # re-save in another locale): their day order is read from all of them together.
    text_times = [r.cells[submitted_index] for n, r in enumerate(t.records)
                  if submitted_index < len(r.cells)
                  and not (t.raw_times is not None and isinstance(t.raw_times[n], datetime))]
    month_first, how = (decide_month_first(text_times, config.time_zone) if text_times
                        else (True, ""))
    out_zone = ZoneInfo(config.time_zone)
    item_ids = instrument.item_ids
    id_index = next((c.index for c in t.columns if t.response_id_header
                     and norm_header(question_code(c.label) or c.label) == t.response_id_header),
                    None)
    response_ids: dict[int, str] = {}
    rows: list[dict] = []
    quarantine: list[tuple[int | None, str | None, str]] = []
    excluded = 0
    zoneless = False
    excel_serials = False
    for n, rec in enumerate(t.records):
        cells = rec.cells
        if not t.complete(cells):
            excluded += 1
            continue
        raw = t.raw_times[n] if t.raw_times is not None else None
        try:
            if isinstance(raw, datetime):
                at, had_zone = (raw if raw.tzinfo else raw.replace(tzinfo=t.zone)), bool(raw.tzinfo)
            else:
                text = cells[submitted_index] if submitted_index < len(cells) else ""
                at, had_zone = parse_datetime(text, t.zone, month_first)
                excel_serials = excel_serials or excel_serial(text) is not None
        except TimeFormatError:
            quarantine.append((rec.line, None,
                               "submitted_at: submission time is not a date and time the tool "
                               "writes; response not loaded"))
            continue
        zoneless = zoneless or (not had_zone and not t.zone_note and t.zone == out_zone)
        local = at.astimezone(out_zone)
        out = {"survey_id": "", "submitted_at": iso(local), "group_id": ""}
        out.update({i: "" for i in item_ids})
        out["comment"] = ""
        answered = 0
        for index, target in mapped.items():
            value = cells[index].strip() if index < len(cells) else ""
            if not value:
                continue
            if target == "group_id":  # a group id, or a meeting title mapped to one
                out[target] = config.group_for_meeting(value) or value
                continue
            if target in {"comment", "survey_id"}:
                out[target] = value
                continue
            number = instrument.answer_value(target, value)
            if number is None and t.answer_codes:
                number = _coded_answer(instrument, target, value)
            if number is None:
                item = instrument.item(target)
                try:
                    float(value)
                    reason = (f"answer outside the item's scale {item.scale_min}-"
                              f"{item.scale_max}; answer dropped")
                except ValueError:
                    if t.answer_codes and ANSWER_CODE.fullmatch(value):
                        reason = ("an answer code (A1, A2, ...) rather than the answer; export "
                                  "the responses again with 'Full answers' (or 'Answer codes "
                                  "and full answers'), or map the codes under "
                                  f"[labels.{item.label_map}.<lang>] in hearth.toml")
                        quarantine.append((rec.line, target, reason))
                        continue
                    reason = (f"answer label not in the instrument's {item.label_map} map; add "
                              f"it under [labels.{item.label_map}.<lang>] in hearth.toml")
                quarantine.append((rec.line, target, reason))
                continue
            out[target] = str(number)
            answered += 1
        if not answered:
            quarantine.append((rec.line, None,
                               "response answers no instrument item; response not loaded"))
            continue
        if not out["survey_id"]:
            out["survey_id"] = survey_quarter(local.date(), config.fiscal_year_start_month)
        out["line"] = rec.line
        rows.append(out)
        if id_index is not None and id_index < len(cells) and cells[id_index].strip():
            response_ids[rec.line] = cells[id_index].strip()

    if t.zone_note:
        notes.append(t.zone_note)
    elif t.zone != out_zone and t.raw_times is None:
        notes.append(f"times read in {t.zone.key} (as the tool writes them)")
    if zoneless:
        notes.append(_no_zone_note(config))
    if excel_serials:
        notes.append(EXCEL_SERIAL_NOTE)
    if how and "data" not in how and any(
        re.match(r"\d{1,2}/\d{1,2}/", r.cells[submitted_index]) for r in t.records
        if submitted_index < len(r.cells)
    ):
        notes.append(f"dates read {how}")
    if excluded:
        notes.append(f"{excluded} incomplete responses excluded ({t.incomplete_note})")
    if dropped:
        notes.append(f"identifying columns dropped: {', '.join(dropped)}")

    columns = _OUT_FIXED + item_ids + ["comment", "line"]
    import pandas as pd  # deferred: `hearth formats` lists the registry without loading a file

    survey = pd.DataFrame(rows, columns=columns)
    survey = survey.astype({c: "str" for c in columns if c != "line"})
    survey["line"] = survey["line"].astype("int64")
    return Parsed(
        format=fmt,
        kind="survey_responses",
        rows_read=len(t.records),
        sessions=None,
        attendance=None,
        survey=survey,
        quarantine=quarantine,
        rows_excluded=excluded,
        dropped_columns=dropped,
        notes=notes,
        response_ids=response_ids,
    )
