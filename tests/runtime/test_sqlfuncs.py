"""Dialect-spelled SQL expressions give the same answers on SQLite and PostgreSQL, and one
engine's statement cache never mixes them up (an hour bucket after a day bucket)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column, DateTime, Float, Integer, MetaData, String, Table, func, select
from waypost.runtime.db import make_engine
from waypost.runtime.settings import DatabaseSettings
from waypost.runtime.sqlfuncs import json_text, nearest_rank, seconds_between, time_bucket

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
        codes = dict(
            conn.execute(
                select(json_text(ROWS.c.doc, "error"), func.count()).group_by(
                    json_text(ROWS.c.doc, "error")
                )
            ).all()
        )
        assert codes == {None: 8, "E0": 8, "E1": 8}
        ranked = select(
            ROWS.c.grp,
            ROWS.c.v,
            func.cume_dist().over(partition_by=ROWS.c.grp, order_by=ROWS.c.v).label("cd"),
        ).subquery()
        found = conn.execute(
            select(
                ranked.c.grp,
                nearest_rank(ranked.c.cd, ranked.c.v, 50),
                nearest_rank(ranked.c.cd, ranked.c.v, 95),
            )
            .group_by(ranked.c.grp)
            .order_by(ranked.c.grp)
        ).all()
    assert [tuple(r) for r in found] == [("a", 10.0, 19.0), ("b", 4.0, 8.0)]
    META.drop_all(engine)
    engine.dispose()
