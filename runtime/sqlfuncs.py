"""SQL expressions that read the same on SQLite and PostgreSQL but are spelled differently.

Aggregates for dashboards group by time buckets, subtract timestamps and read JSON fields. The
two databases disagree on each (SQLite keeps timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC
text and has ``julianday``/``json_extract``; PostgreSQL has ``timestamptz``, ``EXTRACT(EPOCH)``
and ``->>``), so each expression is a SQLAlchemy construct compiled per dialect, here and only
here. ``nearest_rank`` is the portable percentile: a ``cume_dist()`` window (SQLite 3.25+,
PostgreSQL) instead of ``percentile_cont``, which SQLite lacks.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

__all__ = ["Bucket", "json_text", "nearest_rank", "seconds_between", "time_bucket"]

Bucket = Literal["hour", "day"]


class seconds_between(FunctionElement[float]):
    """``later - earlier`` in seconds (a float)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


class _Bucket(FunctionElement[str]):
    """A timestamp's UTC hour (``YYYY-MM-DD HH``) or day (``YYYY-MM-DD``) as text."""

    type = String()
    inherit_cache = True
    unit: Bucket = "day"


class _HourBucket(_Bucket):
    inherit_cache = True  # one class per unit: the unit is part of the statement cache key
    name = "hour_bucket"
    unit = "hour"


class _DayBucket(_Bucket):
    inherit_cache = True
    name = "day_bucket"
    unit = "day"


def time_bucket(column: Any, unit: Bucket) -> _Bucket:
    """The UTC hour or day of a timestamp column, as sortable text."""
    return _HourBucket(column) if unit == "hour" else _DayBucket(column)


@compiles(_Bucket, "sqlite")
def _bucket_sqlite(element: _Bucket, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    length = 13 if element.unit == "hour" else 10
    return f"substr({compiler.process(column, **kw)}, 1, {length})"


@compiles(_Bucket, "postgresql")
def _bucket_pg(element: _Bucket, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    pattern = "YYYY-MM-DD HH24" if element.unit == "hour" else "YYYY-MM-DD"
    return f"to_char({compiler.process(column, **kw)} AT TIME ZONE 'UTC', '{pattern}')"


class json_text(FunctionElement[str]):
    """The text of a top-level key of a JSON column (NULL when absent)."""

    type = String()
    inherit_cache = False  # keyed by _traverse_internals below, key included
    name = "json_text"

    def __init__(self, column: Any, key: str) -> None:
        if not key.isidentifier():
            raise ValueError(f"json key {key!r} must be an identifier")
        self.key = key
        super().__init__(column)


@compiles(json_text, "sqlite")
def _json_sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"json_extract({compiler.process(column, **kw)}, '$.{element.key}')"


@compiles(json_text, "postgresql")
def _json_pg(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"(({compiler.process(column, **kw)})::json ->> '{element.key}')"


def nearest_rank(cume: ColumnElement[Any], value: ColumnElement[Any], pct: int) -> Any:
    """The ``pct`` nearest-rank percentile of ``value`` in a group, given each row's
    ``cume_dist()`` over the group ordered by ``value``: the smallest value whose cumulative
    share reaches ``pct``/100. One window (one sort), on SQLite 3.25+ and PostgreSQL alike."""
    from sqlalchemy import case, func, literal

    return func.min(case((cume >= literal(pct / 100.0, Float), value)))
