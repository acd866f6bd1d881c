"""Eval fixtures: the smoke dataset and its path."""

from __future__ import annotations

import pytest
from waypost.evals.dataset import EvalCase, load_dataset

from tests.conftest import PROJECT_ROOT

SMOKE = PROJECT_ROOT / "evals" / "datasets" / "retail_smoke.jsonl"
GOLDEN = PROJECT_ROOT / "evals" / "datasets" / "retail_golden.jsonl"


@pytest.fixture(scope="session")
def smoke_cases() -> list[EvalCase]:
    return load_dataset(str(SMOKE))
