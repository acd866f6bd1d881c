"""``scripted:gold`` on the 74 tau2-retail train cases: harness, graph, validator and tools.

A perfect judge for the model steps must reach the tau2 reward on every case; a failure here
is a harness or workflow bug (or a validator that rejects a reference action).
"""

from __future__ import annotations

import pytest
from waypost.evals.dataset import load_dataset
from waypost.evals.models import model_setup
from waypost.evals.runner import run_cases
from waypost.evals.workflows import get_workflow

from tests.conftest import SHARED_RETAIL

pytestmark = [
    pytest.mark.reference,
    pytest.mark.skipif(not SHARED_RETAIL.is_dir(), reason="needs ../shared/retail"),
]


def test_gold_oracle_scores_74_of_74_on_tau2_train(settings) -> None:
    cases = load_dataset(f"tau2:{SHARED_RETAIL / 'tasks_train.jsonl'}")
    results = run_cases(
        cases,
        get_workflow("retail_support"),
        model_setup("scripted:gold", settings),
        progress=False,
    )
    failures = {
        r.case_id: (r.cause, [s.detail for s in r.scores if s.passed is False], r.record.violations)
        for r in results
        if not r.passed
    }
    assert failures == {}
    assert len(results) == 74
    assert not any(r.record.violations for r in results)  # the validator accepts every gold plan
