"""Metric arithmetic."""

from __future__ import annotations

import pytest

from eval.metrics import classification_metrics, percentile, rank_of, retrieval_metrics


def test_rank_of_finds_the_first_gold_article() -> None:
    assert rank_of(["a", "b", "c"], ["c", "b"]) == 2
    assert rank_of(["a"], ["z"]) is None


def test_retrieval_metrics() -> None:
    metrics = retrieval_metrics([1, 2, 4, None])
    assert metrics["n"] == 4
    assert metrics["hit@1"] == 0.25
    assert metrics["hit@3"] == 0.5
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 4, abs=1e-4)
    assert retrieval_metrics([])["hit@1"] == 0.0


def test_mrr_ignores_ranks_beyond_ten() -> None:
    assert retrieval_metrics([11])["mrr@10"] == 0.0


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 50) == 0.0


def test_classification_metrics() -> None:
    pairs = [(True, True), (True, False), (False, True), (False, False), (True, True)]
    metrics = classification_metrics(pairs)
    assert metrics["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert classification_metrics([(False, False)])["f1"] == 0.0
