"""The daily usage roll-up equals the aggregates of the raw ledger: what ``LedgerWriter`` adds
as it writes, what migration 0011 backfills, on SQLite and PostgreSQL. Counts and tokens are
equal, USD equal up to float summation order, percentiles within ``RELATIVE_ERROR``."""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Engine
from waypost.observability import ledger as ledger_module
from waypost.observability.ledger import LedgerEntry, LedgerEvent, LedgerWriter, RunContext
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.migrate import alembic_config, upgrade
from waypost.runtime.settings import DatabaseSettings
from waypost.runtime.sqlfuncs import nearest_rank_of
from waypost.runtime.usage_rollup import (
    ERRORS,
    LATENCY,
    LEDGER,
    RELATIVE_ERROR,
    ROLLUP,
    bin_value,
    day_of,
    latency_bin,
    nearest_rank_from_bins,
    rebuild,
)

START = dt.datetime(2026, 11, 20, 22, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(DatabaseSettings(url=database_url))
    yield engine
    engine.dispose()


def _expected(engine: Engine) -> dict[str, Any]:
    """The roll-up computed here from the raw ledger rows: sums, exact percentiles, codes."""
    with engine.connect() as conn:
        rows = conn.execute(select(LEDGER)).all()
    sums: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0, 0.0])
    values: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    codes: dict[tuple[Any, ...], int] = defaultdict(int)
    for r in rows:
        day = day_of(r.created_at)
        s = sums[(r.tenant, day, r.kind, r.workflow, r.node, r.name)]
        s[0] += 1
        s[1] += r.status == "error"
        s[2] += not r.price_known
        s[3] += r.input_tokens
        s[4] += r.output_tokens
        s[5] += r.usd
        s[6] += r.latency_ms
        values[(r.tenant, day, r.workflow, r.node)].append(r.latency_ms)
        if r.status == "error":
            codes[(r.tenant, day, r.error_code or "unknown")] += 1
    return {"sums": sums, "values": values, "codes": codes, "rows": len(rows)}


def _assert_rollup_matches(engine: Engine, expected: dict[str, Any]) -> None:
    with engine.connect() as conn:
        rolled = conn.execute(select(ROLLUP)).all()
        bins = conn.execute(select(LATENCY)).all()
        codes = conn.execute(select(ERRORS)).all()
    got = {(r.tenant, r.day, r.kind, r.workflow, r.node, r.name): r for r in rolled}
    assert set(got) == set(expected["sums"])
    for key, (calls, errors, unpriced, tin, tout, usd, ms) in expected["sums"].items():
        r = got[key]
        assert (r.calls, r.errors, r.unpriced, r.input_tokens, r.output_tokens) == (
            calls,
            errors,
            unpriced,
            tin,
            tout,
        ), key
        assert r.usd == pytest.approx(usd, rel=1e-12, abs=1e-15)
        assert r.latency_ms == pytest.approx(ms, rel=1e-12)
    histograms: dict[tuple[Any, ...], dict[int, int]] = defaultdict(dict)
    for b in bins:
        histograms[(b.tenant, b.day, b.workflow, b.node)][b.bin] = b.calls
    assert set(histograms) == set(expected["values"])
    for key, vals in expected["values"].items():
        hist = histograms[key]
        assert sum(hist.values()) == len(vals)
        ordered = sorted(vals)
        for pct, est in zip((50, 95, 99), nearest_rank_from_bins(hist, (50, 95, 99)), strict=True):
            exact = nearest_rank_of(ordered, pct)
            assert est is not None and exact is not None
            assert abs(est - exact) <= RELATIVE_ERROR * exact, (key, pct, est, exact)
    assert {(c.tenant, c.day, c.code): c.calls for c in codes} == dict(expected["codes"])


def _events(rng: random.Random, n: int) -> list[tuple[RunContext, LedgerEvent]]:
    contexts = [
        RunContext(run_id=f"r{i}", tenant=tenant, workflow=workflow)
        for i, (tenant, workflow) in enumerate(
            [("acme", "support"), ("acme", "refunds"), ("globex", "support")]
        )
    ]
    found = []
    for _ in range(n):
        kind = rng.choice(["llm", "llm", "tool"])
        failed = rng.random() < 0.1
        found.append(
            (
                rng.choice(contexts),
                LedgerEvent(
                    kind=kind,
                    name=rng.choice(["m1", "m2"]) if kind == "llm" else "refund",
                    node=rng.choice(["plan", "reply", ""]),
                    input_tokens=rng.randint(0, 3000) if kind == "llm" else 0,
                    output_tokens=rng.randint(0, 400) if kind == "llm" else 0,
                    usd=rng.uniform(0, 0.01) if kind == "llm" else 0.0,
                    price_known=rng.random() < 0.9,
                    latency_ms=0.0 if rng.random() < 0.05 else rng.lognormvariate(6, 1.2),
                    status="error" if failed else "ok",
                    error_code=rng.choice(["provider_error", None]) if failed else None,
                ),
            )
        )
    return found


def test_histogram_percentiles_are_within_the_bound() -> None:
    rng = random.Random(3)
    for _ in range(200):
        values = [rng.lognormvariate(rng.uniform(0, 8), rng.uniform(0.1, 2)) for _ in range(50)]
        bins: dict[int, int] = defaultdict(int)
        for v in values:
            bins[latency_bin(v)] += 1
        for pct, est in zip(
            (1, 50, 95, 100), nearest_rank_from_bins(bins, (1, 50, 95, 100)), strict=True
        ):
            exact = nearest_rank_of(sorted(values), pct)
            assert exact is not None and abs(est - exact) <= RELATIVE_ERROR * exact
    assert latency_bin(0.0) == latency_bin(-1.0) and bin_value(latency_bin(0.0)) == 0.0
    assert nearest_rank_from_bins({}, (50,)) == (None,)
    assert pytest.approx(math.sqrt(1.05) - 1) == RELATIVE_ERROR


def test_ledger_writer_keeps_the_rollup_equal_to_the_ledger(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(engine)
    factory = make_session_factory(engine)
    rng = random.Random(11)
    clock = [START]
    monkeypatch.setattr(ledger_module, "utcnow", lambda: clock[0])
    for context, event in _events(rng, 600):
        clock[0] += dt.timedelta(minutes=rng.uniform(0, 15))  # about three UTC days
        LedgerWriter(factory, context).record(event)
    expected = _expected(engine)
    assert expected["rows"] == 600
    assert len({k[1] for k in expected["sums"]}) >= 3
    _assert_rollup_matches(engine, expected)
    with engine.begin() as conn:  # and the backfill builds the same tables
        assert rebuild(conn, batch=64) == 600  # in pages of 64 ledger rows
    _assert_rollup_matches(engine, expected)


def test_concurrent_writers_lose_no_increment(engine: Engine) -> None:
    upgrade(engine)
    factory = make_session_factory(engine)
    event = LedgerEvent(kind="llm", name="m1", node="plan", input_tokens=3, latency_ms=100.0)

    def write(i: int) -> None:
        writer = LedgerWriter(factory, RunContext(run_id=f"r{i}", tenant="acme", workflow="w"))
        for _ in range(25):
            writer.record(event)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        assert len(conn.execute(select(LedgerEntry.id)).all()) == 100
        (row,) = conn.execute(select(ROLLUP)).all()
        (hist,) = conn.execute(select(LATENCY)).all()
    assert (row.calls, row.input_tokens, hist.calls) == (100, 300, 100)


def test_migration_backfills_existing_ledger_rows(engine: Engine) -> None:
    upgrade(engine, "0010")
    rng = random.Random(5)
    rows = []
    for i, (context, event) in enumerate(_events(rng, 400)):
        rows.append(
            {
                "kind": event.kind,
                "run_id": context.run_id,
                "tenant": context.tenant,
                "workflow": context.workflow,
                "node": event.node,
                "name": event.name,
                "input_tokens": event.input_tokens,
                "output_tokens": event.output_tokens,
                "usd": event.usd,
                "price_known": event.price_known,
                "latency_ms": event.latency_ms,
                "status": event.status,
                "error_code": event.error_code,
                "created_at": START + dt.timedelta(minutes=10 * i),
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(LedgerEntry), rows)
    upgrade(engine)  # 0011 creates the tables and fills them
    expected = _expected(engine)
    assert expected["rows"] == 400
    _assert_rollup_matches(engine, expected)
    cfg = alembic_config(engine)
    with engine.begin() as conn:  # and it goes back down cleanly, and up again
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    assert "usage_rollup" not in inspect(engine).get_table_names()
    upgrade(engine)
    _assert_rollup_matches(engine, expected)
