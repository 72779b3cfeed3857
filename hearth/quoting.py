"""Quoting names and values into SQL text: the one place that does it.

Values are bound (`?`) wherever DuckDB allows a parameter. Where it does not (identifiers,
PIVOT lists, generated CHECK predicates, read_csv options) they go through these two helpers,
and nothing else in Hearth builds a quoted name or string by hand. Item ids are also restricted
to plain names by the instrument loader, so a quoted id is a second line of defence, not the first.
"""

from __future__ import annotations


def sql_literal(value: object) -> str:
    """A value as a SQL string literal: 'it''s'."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A name as a quoted SQL identifier: "bel_1", "say ""hi""."""
    return '"' + name.replace('"', '""') + '"'
