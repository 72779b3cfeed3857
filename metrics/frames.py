"""Query results as pandas frames, through Arrow.

DuckDB's `.df()` builds string columns value by value; for the refresh's frames of several
hundred thousand rows, going through an Arrow table is several times faster. `query_frame`
returns the same frame as `.df()` (same values and dtypes) for the column types the refresh
reads in bulk — strings, floats, integers, booleans — and falls back to `.df()` for any other
type.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

_NULLABLE = {pa.int64(): "Int64", pa.int32(): "Int32", pa.int16(): "Int16", pa.int8(): "Int8",
             pa.bool_(): "boolean"}


def query_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
                ) -> pd.DataFrame:
    """con.execute(sql, params).df(), built from Arrow."""
    table = con.sql(sql, params=params).to_arrow_table()
    for field, column in zip(table.schema, table.columns, strict=True):
        simple = (pa.types.is_string(field.type) and column.null_count < len(column)) \
            or pa.types.is_floating(field.type) or field.type in _NULLABLE
        if not simple:
            return con.execute(sql, params).df()
    frame = table.to_pandas()
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.type in _NULLABLE and column.null_count:
            frame[field.name] = frame[field.name].astype(_NULLABLE[field.type])
    return frame
