"""SQL expressions that read the same on SQLite and PostgreSQL but are spelled differently.

Aggregates for dashboards group by time buckets, subtract timestamps and read JSON fields. The
two databases disagree on each (SQLite keeps timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC
text and has ``julianday``/``json_extract``; PostgreSQL has ``timestamptz``, ``EXTRACT(EPOCH)``
and ``->>``), so each expression is a SQLAlchemy construct compiled per dialect, here and only
here. ``nearest_ranks`` is the portable percentile aggregate: PostgreSQL's ``percentile_disc``
ordered-set aggregate, and on SQLite (which has none) an aggregate function that
``register_sqlite_functions`` adds to every connection (``runtime.db`` does that on connect).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Bucket",
    "json_text",
    "nearest_rank_of",
    "nearest_ranks",
    "register_sqlite_functions",
    "seconds_between",
    "time_bucket",
    "time_bucket_key",
]

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
    as_key = False


class _HourBucket(_Bucket):
    inherit_cache = True  # one class per unit: the unit is part of the statement cache key
    name = "hour_bucket"
    unit = "hour"


class _DayBucket(_Bucket):
    inherit_cache = True
    name = "day_bucket"
    unit = "day"


class _HourBucketKey(_HourBucket):
    inherit_cache = True
    name = "hour_bucket_key"
    as_key = True


class _DayBucketKey(_DayBucket):
    inherit_cache = True
    name = "day_bucket_key"
    as_key = True


def time_bucket(column: Any, unit: Bucket) -> _Bucket:
    """The UTC hour or day of a timestamp column, as sortable text."""
    return _HourBucket(column) if unit == "hour" else _DayBucket(column)


def time_bucket_key(column: Any, unit: Bucket) -> _Bucket:
    """What to GROUP BY when selecting ``time_bucket(column, unit)``: on PostgreSQL the
    truncated timestamp, so the text is formatted once per group rather than once per row
    (``to_char`` costs more than the rest of a month-long aggregate); on SQLite the text."""
    return _HourBucketKey(column) if unit == "hour" else _DayBucketKey(column)


@compiles(_Bucket, "sqlite")
def _bucket_sqlite(element: _Bucket, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    length = 13 if element.unit == "hour" else 10
    return f"substr({compiler.process(column, **kw)}, 1, {length})"


@compiles(_Bucket, "postgresql")
def _bucket_pg(element: _Bucket, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    truncated = f"date_trunc('{element.unit}', {compiler.process(column, **kw)} AT TIME ZONE 'UTC')"
    if element.as_key:
        return truncated
    pattern = "YYYY-MM-DD HH24" if element.unit == "hour" else "YYYY-MM-DD"
    return f"to_char({truncated}, '{pattern}')"


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


def nearest_rank_of(ordered: Sequence[float], pct: int) -> float | None:
    """The ``pct`` nearest-rank percentile of values sorted ascending: the value at rank
    ceil(pct/100 * n) (1-based), i.e. the smallest value with at least ``pct`` % of the values at
    or below it. Integer arithmetic, so no rounding decides the rank."""
    return _ranked(ordered, pct) if ordered else None


def _ranked(ordered: Sequence[float], pct: int) -> float:
    return ordered[max(-(-pct * len(ordered) // 100), 1) - 1]


_SQLITE_RANKS = "waypost_nearest_ranks"


class _NearestRanksAggregate:
    """SQLite aggregate ``waypost_nearest_ranks(value, '50,95')``: the group's nearest-rank
    percentiles as ``repr`` floats joined by commas (exact: ``repr`` round-trips a double).

    It keeps the group's values and sorts them once, in C (``list.sort``), instead of the
    window sort and second aggregation a ``cume_dist()`` formulation costs on SQLite."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.pcts = ""

    def step(self, value: float | None, pcts: str) -> None:
        if value is not None:
            self.values.append(value)
        self.pcts = pcts

    def finalize(self) -> str | None:
        if not self.values:
            return None
        self.values.sort()
        return ",".join(repr(float(_ranked(self.values, int(p)))) for p in self.pcts.split(","))


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Add the SQLite functions this module compiles to (``nearest_ranks``) to a connection:
    a ``sqlite3`` connection, or SQLAlchemy's adapter around an ``aiosqlite`` one."""
    if hasattr(dbapi_conn, "create_aggregate"):
        dbapi_conn.create_aggregate(_SQLITE_RANKS, 2, _NearestRanksAggregate)
        return
    # aiosqlite owns its sqlite3 connection in a thread of its own and offers create_function
    # but not create_aggregate; run sqlite3's in that thread the way its create_function does
    dbapi_conn.run_async(
        lambda conn: conn._execute(
            conn._conn.create_aggregate, _SQLITE_RANKS, 2, _NearestRanksAggregate
        )
    )


class _Ranks(TypeDecorator[tuple[float | None, ...]]):
    """The result of ``nearest_ranks``: PostgreSQL's array or SQLite's text, as a tuple."""

    impl = String
    cache_ok = True

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        raise TypeError("nearest_ranks is a result, not a parameter")

    def process_result_value(self, value: Any, dialect: Any) -> tuple[float | None, ...]:
        if value is None:
            return (None,) * self.count
        if isinstance(value, str):
            return tuple(float(v) for v in value.split(","))
        return tuple(None if v is None else float(v) for v in value)


class nearest_ranks(FunctionElement[tuple[float | None, ...]]):
    """Aggregate: the nearest-rank percentiles ``pcts`` (whole percents) of ``value`` over a
    group, as a tuple of floats (Nones for a group without values). One sort per group.

    PostgreSQL: ``percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY value)``, the first
    value whose position reaches the fraction, which is the nearest rank. SQLite: the aggregate
    ``register_sqlite_functions`` adds, same definition (``nearest_rank_of``)."""

    inherit_cache = True
    name = "nearest_ranks"
    # the percents are part of the statement cache key, like the clauses
    _traverse_internals: ClassVar[Any] = [  # type: ignore[misc]
        *FunctionElement._traverse_internals,
        ("pcts", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, value: Any, pcts: Sequence[int]) -> None:
        if not pcts or any(not isinstance(p, int) or not 0 < p <= 100 for p in pcts):
            raise ValueError(f"percents must be whole numbers in 1..100, not {pcts!r}")
        self.pcts = tuple(pcts)
        self.type = _Ranks(len(self.pcts))
        super().__init__(value)


@compiles(nearest_ranks, "sqlite")
def _ranks_sqlite(element: nearest_ranks, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    pcts = ",".join(str(int(p)) for p in element.pcts)  # digits and commas: a safe literal
    return f"{_SQLITE_RANKS}({compiler.process(value, **kw)}, '{pcts}')"


@compiles(nearest_ranks, "postgresql")
def _ranks_pg(element: nearest_ranks, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    fractions = ", ".join(repr(p / 100) for p in element.pcts)
    return (
        f"percentile_disc(ARRAY[{fractions}]::float8[]) "
        f"WITHIN GROUP (ORDER BY {compiler.process(value, **kw)})"
    )
