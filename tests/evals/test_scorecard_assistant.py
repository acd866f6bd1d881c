"""Scorecards name the assistant version an eval ran with, in the JSON and in the database."""

from __future__ import annotations

from sqlalchemy import Engine
from waypost.evals.persist import latest_scorecards, save_scorecard
from waypost.evals.scorecard import build_scorecard
from waypost.runtime.db import make_session_factory


def test_scorecard_records_the_assistant_version(migrated_engine: Engine) -> None:
    card = build_scorecard(
        [],
        workflow="retail_support",
        dataset="d.jsonl",
        model="scripted:naive",
        approvals="case",
        wall_s=1.0,
        assistant_id="fe096781-5601-53d2-b2f6-0d3403f7e9ca",
        assistant_version=2,
    )
    assert card.model_dump()["assistant_version"] == 2
    factory = make_session_factory(migrated_engine)
    save_scorecard(factory, card)
    save_scorecard(factory, card.model_copy(update={"assistant_version": None}))
    rows = latest_scorecards(factory, "retail_support")
    assert sorted((r.assistant_id, r.assistant_version) for r in rows if r.assistant_version) == [
        ("fe096781-5601-53d2-b2f6-0d3403f7e9ca", 2)
    ]
    assert any(r.assistant_version is None for r in rows)
