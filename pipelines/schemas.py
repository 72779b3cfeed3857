"""What a valid row of each canonical entity looks like: one pandera DataFrameModel per entity.

The models are the single statement of the rules. Files can hold ten million rows, so Hearth does
not pull them into pandas to validate: `sql_checks()` compiles each model's dtypes, nullability
and Field checks into DuckDB predicates that run where the data already is. A parity test
(tests/test_validation_parity.py) runs pandera itself on the bad-file corpus and asserts both
reject exactly the same cells.

Rules that need the warehouse (does this session exist?) or span columns cannot live in a
pandera column; they are listed beside the model in REFERENCES and ROW_RULES.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from zoneinfo import available_timezones

import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.typing import Series

from hearth.instrument import Instrument
from hearth.quoting import sql_identifier, sql_literal

MODALITIES = ["video", "audio", "text", "in_person", "hybrid"]
COHORTS = ["pilot", "scale_up"]
ROLES = ["member", "facilitator", "mentor"]
TIERS = ["light", "standard", "intensive"]
STATUSES = ["attended", "absent", "excused"]
CHANNELS = ["call", "message", "video", "in_person"]
BOOLEANS = ["true", "false", "yes", "no", "1", "0"]
TIME_ZONES = sorted(available_timezones())

DATE = r"\d{4}-\d{2}-\d{2}"
# A time without a zone is ambiguous across a program spread over time zones: require one.
TIMESTAMP_WITH_ZONE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})"
IDENTIFIER = r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}"
LANGUAGE = r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*"



@extensions.register_check_method(statistics=["kind"])
def parses_as(values: pd.Series, *, kind: str) -> pd.Series:
    """Text that has the right shape must also be a real date ("date") or instant ("time")."""
    if kind == "date":
        parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    else:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    return parsed.notna()


class _Canonical(pa.DataFrameModel):
    class Config:
        coerce = True  # files are text: whole-number columns are parsed, and fail if they can't be


class Groups(_Canonical):
    group_id: Series[str] = pa.Field(str_matches=IDENTIFIER)
    name: Series[str]
    modality: Series[str] = pa.Field(isin=MODALITIES)
    language: Series[str] = pa.Field(str_matches=LANGUAGE)
    time_zone: Series[str] = pa.Field(isin=TIME_ZONES)
    cadence_days: Series[int] = pa.Field(ge=1, le=31)
    coach: Series[str] | None = pa.Field(nullable=True)
    started_on: Series[str] = pa.Field(str_matches=DATE, parses_as={"kind": "date"})
    cohort: Series[str] = pa.Field(isin=COHORTS)


class Members(_Canonical):
    member_id: Series[str] = pa.Field(str_matches=IDENTIFIER)
    name: Series[str]
    email: Series[str] | None = pa.Field(nullable=True, str_matches=r"[^@\s]+@[^@\s]+")
    group_id: Series[str]
    joined_on: Series[str] = pa.Field(str_matches=DATE, parses_as={"kind": "date"})
    left_on: Series[str] | None = pa.Field(nullable=True, str_matches=DATE, parses_as={"kind": "date"})
    role: Series[str] = pa.Field(isin=ROLES)
    tier: Series[str] = pa.Field(isin=TIERS)


class Sessions(_Canonical):
    session_id: Series[str] = pa.Field(str_matches=IDENTIFIER)
    group_id: Series[str]
    starts_at: Series[str] = pa.Field(str_matches=TIMESTAMP_WITH_ZONE, parses_as={"kind": "time"})
    duration_minutes: Series[int] = pa.Field(ge=1, le=600)
    host_member_id: Series[str] | None = pa.Field(nullable=True)
    modality: Series[str] = pa.Field(isin=MODALITIES)
    captioned: Series[str] = pa.Field(isin=BOOLEANS)


class Attendance(_Canonical):
    session_id: Series[str]
    member_id: Series[str]
    status: Series[str] = pa.Field(isin=STATUSES)
    minutes: Series[int] | None = pa.Field(nullable=True, ge=0, le=600)


class BuddyCheckins(_Canonical):
    member_id: Series[str]
    buddy_id: Series[str]
    checked_in_at: Series[str] = pa.Field(str_matches=TIMESTAMP_WITH_ZONE, parses_as={"kind": "time"})
    channel: Series[str] = pa.Field(isin=CHANNELS)


class SurveyResponses(_Canonical):
    """The fixed columns; item columns are added from the instrument by survey_model()."""

    survey_id: Series[str] = pa.Field(str_matches=IDENTIFIER)
    submitted_at: Series[str] = pa.Field(str_matches=TIMESTAMP_WITH_ZONE, parses_as={"kind": "time"})
    group_id: Series[str] | None = pa.Field(nullable=True)
    comment: Series[str] | None = pa.Field(nullable=True)


def survey_schema(instrument: Instrument) -> pa.DataFrameSchema:
    """SurveyResponses plus one optional, nullable whole-number column per instrument item.
    Built once per set of items (a load asks for it several times; each build deep-copies the
    schema, ~9 ms): only read the schema returned, it is shared."""
    return _survey_schema(tuple((i.item_id, i.scale_min, i.scale_max) for i in instrument.items))


@functools.lru_cache(maxsize=8)
def _survey_schema(items: tuple[tuple[str, int, int], ...]) -> pa.DataFrameSchema:
    schema = SurveyResponses.to_schema()
    columns = {
        item_id: pa.Column(
            "Int64", nullable=True, required=False, coerce=True,
            checks=[pa.Check.ge(low), pa.Check.le(high)],
        )
        for item_id, low, high in items
    }
    return schema.add_columns(columns)


@dataclass(frozen=True)
class Entity:
    kind: str
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]  # natural key: a row with a key already loaded is a duplicate
    table: str
    # (column, referenced table, referenced column): must exist in the warehouse
    references: tuple[tuple[str, str, str], ...] = ()
    # (column, SQL predicate over the staged row that must hold, reason when it does not)
    row_rules: tuple[tuple[str, str, str], ...] = ()


ENTITIES: dict[str, Entity] = {
    e.kind: e
    for e in (
        Entity("groups", Groups, ("group_id",), "core.groups"),
        Entity(
            "members", Members, ("member_id", "group_id", "joined_on"), "core.memberships",
            references=(("group_id", "core.groups", "group_id"),),
            row_rules=(("left_on", "left_on IS NULL OR left_on >= joined_on",
                        "left_on is before joined_on; swap them or clear left_on"),),
        ),
        Entity(
            "sessions", Sessions, ("session_id",), "core.sessions",
            references=(("group_id", "core.groups", "group_id"),
                        ("host_member_id", "core.members", "member_id")),
        ),
        Entity(
            "attendance", Attendance, ("session_id", "member_id"), "core.attendance",
            references=(("session_id", "core.sessions", "session_id"),
                        ("member_id", "core.members", "member_id")),
        ),
        Entity(
            "buddy_checkins", BuddyCheckins, ("member_id", "buddy_id", "checked_in_at"),
            "core.buddy_checkins",
            references=(("member_id", "core.members", "member_id"),
                        ("buddy_id", "core.members", "member_id")),
            row_rules=(("buddy_id", "buddy_id <> member_id",
                        "a member cannot be their own buddy; fix buddy_id"),),
        ),
        Entity(
            "survey_responses", SurveyResponses, ("response_id",), "core.survey_responses",
        ),
    )
}

# Load order for a folder: what a row refers to must already be there.
LOAD_ORDER = list(ENTITIES)


def schema_of(kind: str, instrument: Instrument) -> pa.DataFrameSchema:
    if kind == "survey_responses":
        return survey_schema(instrument)
    return ENTITIES[kind].model.to_schema()


def required_columns(kind: str, instrument: Instrument) -> list[str]:
    schema = schema_of(kind, instrument)
    return [name for name, col in schema.columns.items() if col.required]


# --- compiling pandera to DuckDB ------------------------------------------------------------

def _number(col: str) -> str:
    return f"TRY_CAST({col} AS BIGINT)"  # DuckDB's cast ignores surrounding spaces


def _check_sql(col: str, check: pa.Check, numeric: bool) -> tuple[str, str]:
    """(predicate that holds for a valid non-null value, reason when it fails)."""
    stats = check.statistics or {}
    value = _number(col) if numeric else col
    match check.name:
        case "isin":
            allowed = stats["allowed_values"]
            reason = (f"must be one of: {', '.join(allowed)}" if len(allowed) <= 8
                      else "must be an IANA time zone such as Europe/London")
            return f"{col} IN ({', '.join(sql_literal(a) for a in allowed)})", reason
        case "greater_than_or_equal_to":
            return f"{value} >= {stats['min_value']}", f"must be at least {stats['min_value']}"
        case "less_than_or_equal_to":
            return f"{value} <= {stats['max_value']}", f"must be at most {stats['max_value']}"
        case "greater_than":
            return f"{value} > {stats['min_value']}", f"must be more than {stats['min_value']}"
        case "less_than":
            return f"{value} < {stats['max_value']}", f"must be less than {stats['max_value']}"
        case "str_matches":
            pattern = stats["pattern"]
            pattern = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
            return f"regexp_full_match({col}, {sql_literal(pattern)})", _PATTERN_REASONS.get(
                pattern, f"does not match the expected pattern {pattern}"
            )
        case "parses_as":
            shape = DATE if stats["kind"] == "date" else TIMESTAMP_WITH_ZONE
            target = "DATE" if stats["kind"] == "date" else "TIMESTAMPTZ"
            # Only judged once the shape is right, so a row gets one reason, not two.
            return (f"NOT regexp_full_match({col}, {sql_literal(shape)}) OR TRY_CAST({col} AS {target}) IS NOT NULL",
                    f"is not a real calendar {'date' if stats['kind'] == 'date' else 'time'}")
    raise ValueError(f"pandera check {check.name!r} has no DuckDB translation; add one in sql_checks")


_PATTERN_REASONS = {
    DATE: "must be a date written YYYY-MM-DD",
    TIMESTAMP_WITH_ZONE: "must be an ISO 8601 time with a zone offset, e.g. 2025-04-07T18:30:00+01:00",
    IDENTIFIER: "must be an id of letters, digits and _ . : - (up to 64 characters)",
    LANGUAGE: "must be a language code such as en or pt-BR",
    r"[^@\s]+@[^@\s]+": "must be an email address",
}
# The reasons of the date and time shape checks (the loader adds what Excel did, when it did).
DATE_PATTERN_REASONS = frozenset({_PATTERN_REASONS[DATE], _PATTERN_REASONS[TIMESTAMP_WITH_ZONE]})


@dataclass(frozen=True)
class SqlCheck:
    column: str
    predicate: str  # holds for a valid row
    reason: str


def sql_checks(schema: pa.DataFrameSchema, present: set[str]) -> list[SqlCheck]:
    """Translate a pandera schema into row-level DuckDB predicates over VARCHAR columns.

    A NULL (empty) value passes every check except "required"; checks on numeric columns apply
    to the value parsed as a whole number.
    """
    out: list[SqlCheck] = []
    for name, column in schema.columns.items():
        if name not in present:
            continue
        col = sql_identifier(name)
        numeric = str(column.dtype).lower().startswith("int")
        if not column.nullable:
            out.append(SqlCheck(name, f"{col} IS NOT NULL", "is required but empty"))
        if numeric:  # (the cast alone would round 5.5 to 6)
            out.append(SqlCheck(name, f"{col} IS NULL OR ({_number(col)} IS NOT NULL AND NOT contains({col}, '.'))",
                                "must be a whole number"))
        for check in column.checks:
            predicate, reason = _check_sql(col, check, numeric)
            guard = f"{_number(col)} IS NULL" if numeric else f"{col} IS NULL"
            out.append(SqlCheck(name, f"{guard} OR ({predicate})", reason))
    return out
