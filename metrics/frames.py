"""Query results as pandas frames, through Arrow: the one reader of the refresh and the read layer.

DuckDB's `.df()` builds string columns value by value: for the refresh's frames of several
hundred thousand rows and a page's frames of every group (10,000 rows at reference scale),
going through an Arrow table is several times faster. `query_frame` returns the frame `.df()`
returns, same values and dtypes: where Arrow's conversion differs from `.df()`, the column is
converted as `.df()` converts it. The module imports neither pandas nor pyarrow itself, so the
CLI's read commands, which import the read layer, start without them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

#: Arrow types read through .df() itself (their cells convert differently).
_NESTED = ("list", "large_list", "fixed_size_list", "struct", "map", "union")

#: Arrow types whose column .df() gives as pandas' nullable dtype when it holds a NULL.
_NULLABLE = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64",
             "uint8": "UInt8", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
             "bool": "boolean"}


def query_frame(con: duckdb.DuckDBPyConnection, sql: str,
                params: Sequence | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """con.execute(sql, params).df(), built from Arrow. Where the two conversions differ the
    column is converted as ``.df()`` converts it: a date becomes datetime64[us] (Arrow: object),
    a decimal a float (Arrow: Decimal objects), an integer or boolean column holding a NULL
    pandas' nullable Int32/Int64/boolean (Arrow: float or object). One difference is kept: a
    text column with no value (or no rows) stays text, where ``.df()`` makes it an object
    column of None, so an empty selection's frame has the dtypes of a filtered one."""
    # (a relation refuses to run while an execute() result is open, and the table checks
    # before a read fetch their one row and leave theirs open: run it to its end first)
    con.complete()
    params = dict(params) if isinstance(params, Mapping) else list(params or ())  # ($name or ?)
    table = con.sql(sql, params=params or None).to_arrow_table()
    if any(str(field.type).startswith(_NESTED) for field in table.schema) \
            or len(set(table.column_names)) < table.num_columns:
        # (lists' missing values differ, None against NA; .df() renames a repeated column)
        return con.execute(sql, params).df()
    frame = table.to_pandas(date_as_object=False)
    if not len(frame):
        # Arrow gives the text columns of no rows no chunks at all, and pandas then cannot join
        # on two of them ("cannot construct ChunkedArray from empty vector"): the empty text
        # columns of a frame pandas builds itself (pandas is loaded: to_pandas imported it)
        import pandas as pd

        for name in frame.columns[frame.dtypes == "str"]:
            frame[name] = pd.Series([], dtype="str", index=frame.index)
    wanted: dict[str, Any] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = str(field.type)
        if kind.startswith(("date", "timestamp")):
            dtype = str(frame[field.name].dtype)
            wanted[field.name] = dtype.replace("[ms", "[us").replace("[ns", "[us") \
                .replace("[s", "[us")
        elif kind.startswith("decimal"):
            wanted[field.name] = "float64"
        elif column.null_count and kind in _NULLABLE:
            wanted[field.name] = _NULLABLE[kind]
    if not wanted:
        return frame
    for name, dtype in wanted.items():
        # (column by column: the frame's own astype copies every column, 7 ms for the
        # 10,000 groups' dates, against 0.3 ms for the one column)
        frame[name] = frame[name].astype(dtype)
    return frame
