"""Fixtures for model tests: one real local model per test session."""

from __future__ import annotations

import pytest
from waypost.agents.local.chat import LocalChatModel


@pytest.fixture(scope="session")
def local_model() -> LocalChatModel:
    """The bundled 0.5B model, loaded once (assembled into the user cache if needed)."""
    model = LocalChatModel(n_ctx=4096, max_tokens=96)
    model.load()
    return model
