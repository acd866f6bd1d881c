"""Dialect-spelled SQL expressions give the same answers on SQLite and PostgreSQL, and one
engine's statement cache never mixes them up (an hour bucket after a day bucket); the
percentile aggregate is exact nearest rank on both."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import JSON, Column, DateTime, Float, Integer, MetaData, String, Table, func, select
from waypost.runtime.db import make_engine
from waypost.runtime.settings import DatabaseSettings
from waypost.runtime.sqlfuncs import (
    json_text,
    nearest_rank_of,
    nearest_ranks,
    seconds_between,
    time_bucket,
    time_bucket_key,
)

META = MetaData()
ROWS = Table(
    "sqlfuncs_rows",
    META,
    Column("id", Integer, primary_key=True),
    Column("grp", String(8)),
    Column("v", Float),
    Column("started", DateTime(timezone=True)),
    Column("ended", DateTime(timezone=True)),
    Column("doc", JSON),
)
T0 = dt.datetime(2026, 11, 30, 23, 59, 58, tzinfo=dt.UTC)


def test_the_same_answers_on_both_databases(database_url: str) -> None:
    engine = make_engine(DatabaseSettings(url=database_url))
    META.create_all(engine)
    rows = [
        {
            "grp": "a" if i <= 20 else "b",
            "v": float(i if i <= 20 else (i - 20) * 2),
            "started": T0,
            "ended": T0 + dt.timedelta(seconds=i * 1.5),
            "doc": {"error": f"E{i % 2}"} if i % 3 else {},
        }
        for i in range(1, 25)
    ]
    with engine.begin() as conn:
        conn.execute(ROWS.insert(), rows)
        durations = conn.execute(
            select(seconds_between(ROWS.c.started, ROWS.c.ended)).order_by(ROWS.c.id)
        ).scalars()
        assert [round(d, 3) for d in durations] == [i * 1.5 for i in range(1, 25)]
        for _ in range(2):  # alternate units on one engine: its statement cache must not mix
            day = conn.execute(
                select(time_bucket(ROWS.c.ended, "day")).order_by(ROWS.c.id.desc()).limit(1)
            ).scalar()
            hour = conn.execute(
                select(time_bucket(ROWS.c.ended, "hour")).order_by(ROWS.c.id.desc()).limit(1)
            ).scalar()
            assert (day, hour) == ("2026-12-01", "2026-12-01 00")
        for unit, expected in (
            ("day", [("2026-11-30", 1), ("2026-12-01", 23)]),
            ("hour", [("2026-11-30 23", 1), ("2026-12-01 00", 23)]),
        ):  # grouped by the key, selected as text (PostgreSQL formats once per group)
            bucket = time_bucket(ROWS.c.ended, unit).label("bucket")
            grouped = conn.execute(
                select(bucket, func.count())
                .group_by(time_bucket_key(ROWS.c.ended, unit))
                .order_by(bucket)
            ).all()
            assert [tuple(r) for r in grouped] == expected
        codes = dict(
            conn.execute(
                select(json_text(ROWS.c.doc, "error"), func.count()).group_by(
                    json_text(ROWS.c.doc, "error")
                )
            ).all()
        )
        assert codes == {None: 8, "E0": 8, "E1": 8}
        found = conn.execute(
            select(ROWS.c.grp, nearest_ranks(ROWS.c.v, (50, 95)))
            .group_by(ROWS.c.grp)
            .order_by(ROWS.c.grp)
        ).all()
    assert [tuple(r) for r in found] == [("a", (10.0, 19.0)), ("b", (4.0, 8.0))]
    META.drop_all(engine)
    engine.dispose()


def test_nearest_ranks_equal_nearest_rank_over_the_raw_rows(database_url: str) -> None:
    """The aggregate answers what sorting each group's raw values and taking rank
    ceil(p/100 * n) answers, value for value (no text round trip loses a digit), for groups
    of 1 to 997 values with ties, and None for a group whose values are all NULL."""
    rng = random.Random(12)
    sizes = {"one": 1, "two": 2, "twenty": 20, "odd": 997, "ties": 101}
    rows = []
    for grp, n in sizes.items():
        for _ in range(n):
            v = float(rng.randint(1, 5)) if grp == "ties" else rng.lognormvariate(6, 1.2)
            rows.append({"grp": grp, "v": v, "started": T0, "ended": T0, "doc": {}})
    rows.append({"grp": "nulls", "v": None, "started": T0, "ended": T0, "doc": {}})
    engine = make_engine(DatabaseSettings(url=database_url))
    META.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(ROWS.insert(), rows)
            found = dict(
                conn.execute(
                    select(ROWS.c.grp, nearest_ranks(ROWS.c.v, (1, 50, 95, 100))).group_by(
                        ROWS.c.grp
                    )
                ).all()
            )
            stored = conn.execute(select(ROWS.c.grp, ROWS.c.v)).all()
            cached = [  # the percents are part of the statement cache key
                conn.execute(
                    select(nearest_ranks(ROWS.c.v, pcts)).where(ROWS.c.grp == "twenty")
                ).scalar_one()
                for pcts in ((50, 95), (50, 99), (50, 95))
            ]
        twenty = sorted(v for g, v in stored if g == "twenty")
        p50, p95, p99 = twenty[9], twenty[18], twenty[19]  # ranks 10, 19 and 20 of 20
        assert cached == [(p50, p95), (p50, p99), (p50, p95)]
        for grp in sizes:
            ordered = sorted(v for g, v in stored if g == grp)
            expected = tuple(nearest_rank_of(ordered, p) for p in (1, 50, 95, 100))
            assert found[grp] == expected, grp
            assert expected[1] == ordered[(len(ordered) + 1) // 2 - 1]  # the lower median
            assert expected[3] == ordered[-1]
        assert found["nulls"] == (None, None, None, None)
    finally:
        META.drop_all(engine)
        engine.dispose()


def test_nearest_rank_of() -> None:
    values = [float(v) for v in range(1, 21)]
    assert [nearest_rank_of(values, p) for p in (1, 5, 50, 51, 95, 96, 100)] == [
        1.0,
        1.0,
        10.0,
        11.0,
        19.0,
        20.0,
        20.0,
    ]
    assert nearest_rank_of([], 50) is None
