"""Rank fusion and the weight of a long query's sentences."""

from __future__ import annotations

import pytest
from waypost.retrieval.search import SENTENCE_CONFIDENCE_POWER, rrf, sentence_weights


def test_rrf_sums_reciprocal_ranks_and_honours_weights() -> None:
    fused = dict(rrf([["a", "b"], ["b", "c"]], k=60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61) and fused["c"] == pytest.approx(1 / 62)
    weighted = rrf([["a", "b"], ["b", "c"]], k=60, weights=[3.0, 0.0])
    assert [item for item, _ in weighted] == ["a", "b"]  # a zero-weight list does not vote
    assert dict(weighted)["a"] == pytest.approx(3 / 61)


def test_a_sentence_far_from_every_chunk_weighs_less() -> None:
    whole, on_topic, off_topic = 0.6, 0.66, 0.3
    weights = sentence_weights([whole, on_topic, off_topic])
    assert weights[0] == 1.0
    assert weights[1] == pytest.approx((on_topic / whole) ** SENTENCE_CONFIDENCE_POWER)
    assert weights[1] > 1
    assert weights[2] == pytest.approx(0.25)
    assert sentence_weights([0.0, 0.5]) == [1.0, 1.0]  # nothing to compare with: no weighting
    assert sentence_weights([0.5, -0.2]) == [1.0, 0.0]
