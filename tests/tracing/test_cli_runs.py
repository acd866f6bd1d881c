"""`waypost run` (execute_locally) traces and ledgers a run; `waypost runs show` prints it."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner
from waypost.domains.retail.tools import load_tau2_db
from waypost.graphs.plugins import migrate
from waypost.observability.ledger import run_totals
from waypost.observability.tracing import trace_id_for
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings, get_settings

from tests.graphs.conftest import CANCEL_MESSAGE, TINY_DB
from tests.tracing.conftest import MODEL, langfuse_for, make_settings, scripted_model
from waypost.cli.run import execute_locally
from waypost.cli.runs import app as runs_app


def test_run_then_runs_show(tmp_path, receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    load_tau2_db(make_session_factory(engine), copy.deepcopy(TINY_DB))
    model = scripted_model()
    monkeypatch.setattr("waypost.agents.registry.get_chat_model", lambda _n, _s: model)
    settings = make_settings(url, langfuse_for(receiver))

    result = execute_locally(
        settings,
        "retail_support",
        {"message": CANCEL_MESSAGE},
        decide=lambda _v: {"decision": "approve", "decided_by": "cli"},
        quiet=True,
    )
    assert result["status"] == "completed"
    run_id = result["run_id"]
    assert result["trace_url"] == f"{receiver.base_url}/trace/{trace_id_for(run_id)}"
    with make_session_factory(engine)() as session:
        totals = run_totals(session, run_id)
    engine.dispose()
    assert totals.llm_calls == 2 and totals.usd > 0
    assert {s.trace_id for s in receiver.spans} == {trace_id_for(run_id)}

    for key, value in {
        "WAYPOST_DATABASE__URL": url,
        "WAYPOST_ENV": "test",
        "WAYPOST_MODELS__PRICES": json.dumps(
            {MODEL: {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}
        ),
        "WAYPOST_LANGFUSE__PUBLIC_KEY": receiver.public_key,
        "WAYPOST_LANGFUSE__SECRET_KEY": receiver.secret_key,
        "WAYPOST_LANGFUSE__BASE_URL": receiver.base_url,
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(runs_app, ["show", run_id, "--json"])
        text = CliRunner().invoke(runs_app, ["show", run_id], env={"COLUMNS": "200"})
        missing = CliRunner().invoke(runs_app, ["show", "nope"])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["trace_url"] == result["trace_url"]
    assert report["totals"]["llm_calls"] == 2
    assert report["totals"]["usd"] == pytest.approx(totals.usd)
    assert [s["name"] for s in report["steps"] if s["kind"] == "llm"] == [MODEL, MODEL]
    assert "cancel_pending_order" in text.output and "trace:" in text.output
    assert missing.exit_code != 0
