"""Metric arithmetic for the evaluation report."""

from __future__ import annotations

from collections.abc import Sequence


def rank_of(ranked: Sequence[str], gold: Sequence[str]) -> int | None:
    """1-based rank of the first gold article in `ranked`, or None."""
    for position, article_id in enumerate(ranked, start=1):
        if article_id in gold:
            return position
    return None


def retrieval_metrics(ranks: Sequence[int | None]) -> dict[str, float | int]:
    """hit@1, hit@3 and MRR@10 over the ranks of the first gold article."""
    n = len(ranks)
    if n == 0:
        return {"n": 0, "hit@1": 0.0, "hit@3": 0.0, "mrr@10": 0.0}
    return {
        "n": n,
        "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "hit@3": round(sum(1 for r in ranks if r is not None and r <= 3) / n, 4),
        "mrr@10": round(sum(1 / r for r in ranks if r is not None and r <= 10) / n, 4),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def classification_metrics(pairs: Sequence[tuple[bool, bool]]) -> dict[str, float | int]:
    """Precision, recall and F1 of (predicted, actual) pairs for the positive class."""
    tp = sum(1 for p, a in pairs if p and a)
    fp = sum(1 for p, a in pairs if p and not a)
    fn = sum(1 for p, a in pairs if not p and a)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(pairs),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }
