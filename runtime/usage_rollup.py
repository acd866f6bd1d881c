"""The daily usage roll-up: what it stores, its latency histogram, and how to rebuild it.

The console's long views (7 days and more) read ledger-derived figures from three small tables
instead of every ``usage_ledger`` row of the range:

* ``usage_rollup``: per (tenant, UTC day, kind, workflow, node, name) the calls, errors,
  unpriced calls, input and output tokens, USD and the sum of latencies (so means are exact);
* ``usage_rollup_latency``: per (tenant, day, workflow, node) a histogram of call latencies in
  log-scale bins (``latency_bin``), one row per non-empty bin;
* ``usage_rollup_errors``: per (tenant, day, error code) the failed calls.

Counts, tokens and USD are sums, so they equal the ledger's. A percentile read from the
histogram is the middle (geometric) of the bin that holds the exact nearest-rank value, so it
is within ``RELATIVE_ERROR`` (2.5 %) of it. ``observability.rollup`` keeps the tables current
as ledger rows are written; ``rebuild`` fills them from the ledger (migration 0011, benches).

This module is plain SQLAlchemy Core over table descriptions of its own, so a migration can use
it whatever the ORM models look like later.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import Connection

__all__ = [
    "BIN_RATIO",
    "RELATIVE_ERROR",
    "ZERO_BIN",
    "bin_value",
    "day_of",
    "latency_bin",
    "nearest_rank_from_bins",
    "rebuild",
]

BIN_RATIO = 1.05
"""Each histogram bin spans [r**b, r**(b+1)) milliseconds: 5 % wide on a log scale."""
RELATIVE_ERROR = math.sqrt(BIN_RATIO) - 1 + 1e-9
"""Bound on |estimate / exact - 1| of a percentile read from the histogram (2.47 %)."""
ZERO_BIN = -1_000_000
"""The bin of latencies of zero (or below): read back as 0.0, exactly."""
_LOG_RATIO = math.log(BIN_RATIO)
_TOP_BIN = 1_000  # 1.05**1000 ms is longer than any call


def latency_bin(ms: float) -> int:
    """The histogram bin of a latency in milliseconds."""
    if not ms > 0:  # zero, negative and NaN latencies
        return ZERO_BIN
    if math.isinf(ms):
        return _TOP_BIN
    return math.floor(math.log(ms) / _LOG_RATIO)


def bin_value(b: int) -> float:
    """What a bin reads as: the geometric middle of its bounds (0.0 for ``ZERO_BIN``)."""
    return 0.0 if b == ZERO_BIN else BIN_RATIO ** (b + 0.5)


def nearest_rank_from_bins(
    bins: Mapping[int, int], pcts: Sequence[int]
) -> tuple[float | None, ...]:
    """The nearest-rank percentiles ``pcts`` of a histogram ``{bin: count}``: the value of the
    bin that holds the value of rank ceil(pct/100 * n), as ``nearest_rank_of`` ranks values."""
    total = sum(bins.values())
    if total <= 0:
        return (None,) * len(pcts)
    ordered = sorted((b, n) for b, n in bins.items() if n > 0)
    found: list[float | None] = []
    for pct in pcts:
        rank = max(-(-pct * total // 100), 1)
        seen = 0
        for b, n in ordered:
            seen += n
            if seen >= rank:
                found.append(bin_value(b))
                break
    return tuple(found)


def day_of(moment: dt.datetime) -> str:
    """The UTC day of a timestamp as ``YYYY-MM-DD`` (naive timestamps are UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d")


# -- the tables, as migration 0011 creates them ------------------------------------------------
_META = MetaData()
LEDGER = Table(
    "usage_ledger",
    _META,
    Column("id", Integer, primary_key=True),
    Column("kind", String(8)),
    Column("tenant", String(64)),
    Column("workflow", String(128)),
    Column("node", String(128)),
    Column("name", String(128)),
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("usd", Float),
    Column("price_known", Boolean),
    Column("latency_ms", Float),
    Column("status", String(8)),
    Column("error_code", String(64)),
    Column("created_at", DateTime(timezone=True)),
)
ROLLUP = Table(
    "usage_rollup",
    _META,
    Column("tenant", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("workflow", String(128), primary_key=True),
    Column("node", String(128), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("calls", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("unpriced", Integer, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("usd", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
)
LATENCY = Table(
    "usage_rollup_latency",
    _META,
    Column("tenant", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("workflow", String(128), primary_key=True),
    Column("node", String(128), primary_key=True),
    Column("bin", Integer, primary_key=True),
    Column("calls", Integer, nullable=False),
)
ERRORS = Table(
    "usage_rollup_errors",
    _META,
    Column("tenant", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("calls", Integer, nullable=False),
)


def error_code_of(code: str | None) -> str:
    """How a failed call's code is kept (the dashboard's name for a missing one)."""
    return code or "unknown"


def aggregate(
    rows: Iterable[Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Roll-up rows of ledger rows (objects or rows with the ledger's column names)."""
    sums: dict[tuple[str, ...], list[Any]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0, 0.0])
    bins: dict[tuple[Any, ...], int] = defaultdict(int)
    errors: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in rows:
        day = day_of(r.created_at)
        entry = sums[(r.tenant, day, r.kind, r.workflow, r.node, r.name)]
        failed = r.status == "error"
        entry[0] += 1
        entry[1] += int(failed)
        entry[2] += int(not r.price_known)
        entry[3] += int(r.input_tokens or 0)
        entry[4] += int(r.output_tokens or 0)
        entry[5] += float(r.usd or 0.0)
        entry[6] += float(r.latency_ms or 0.0)
        bins[(r.tenant, day, r.workflow, r.node, latency_bin(float(r.latency_ms or 0.0)))] += 1
        if failed:
            errors[(r.tenant, day, error_code_of(r.error_code))] += 1
    columns = ("calls", "errors", "unpriced", "input_tokens", "output_tokens", "usd", "latency_ms")
    keys = ("tenant", "day", "kind", "workflow", "node", "name")
    return (
        [
            {**dict(zip(keys, k, strict=True)), **dict(zip(columns, v, strict=True))}
            for k, v in sums.items()
        ],
        [
            {"tenant": t, "day": d, "workflow": w, "node": n, "bin": b, "calls": c}
            for (t, d, w, n, b), c in bins.items()
        ],
        [{"tenant": t, "day": d, "code": code, "calls": c} for (t, d, code), c in errors.items()],
    )


def rebuild(conn: Connection, *, batch: int = 5000) -> int:
    """Replace the roll-up by the aggregates of every ledger row; returns the rows read.

    One pass over the ledger in id order, aggregated here (the histogram bin is a
    logarithm, which SQLite may lack), then bulk inserts. Run it while no ledger rows are being
    written (a migration, a bench's seeding), or rows written meanwhile may be counted twice or
    not at all."""
    for table in (ROLLUP, LATENCY, ERRORS):
        conn.execute(delete(table))
    stmt = select(
        LEDGER.c.id,
        LEDGER.c.kind,
        LEDGER.c.tenant,
        LEDGER.c.workflow,
        LEDGER.c.node,
        LEDGER.c.name,
        LEDGER.c.input_tokens,
        LEDGER.c.output_tokens,
        LEDGER.c.usd,
        LEDGER.c.price_known,
        LEDGER.c.latency_ms,
        LEDGER.c.status,
        LEDGER.c.error_code,
        LEDGER.c.created_at,
    ).order_by(LEDGER.c.id)
    read = 0

    def batches() -> Iterable[Any]:
        """The ledger rows in id order, ``batch`` at a time: memory grows with the roll-up,
        not with the ledger."""
        nonlocal read
        last = None
        while True:
            page = stmt if last is None else stmt.where(LEDGER.c.id > last)
            rows = conn.execute(page.limit(batch)).all()
            if not rows:
                return
            read += len(rows)
            last = rows[-1].id
            yield from rows

    main, latency, errors = aggregate(batches())
    for table, values in ((ROLLUP, main), (LATENCY, latency), (ERRORS, errors)):
        for start in range(0, len(values), batch):
            conn.execute(insert(table), values[start : start + batch])
    return read
