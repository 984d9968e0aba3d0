"""Speed and memory benchmarks (`kakehashi bench`); never run as timed tests."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from eval.cases import Case
from eval.metrics import percentile
from retrieval.hybrid import HybridRetriever
from retrieval.kb import Article


@dataclass(frozen=True)
class BenchResult:
    name: str
    n: int
    p50_ms: float
    p95_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "max_ms": round(self.max_ms, 2),
        }


def _timed(name: str, calls: Sequence[Callable[[], object]]) -> BenchResult:
    times: list[float] = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return BenchResult(
        name, len(times), percentile(times, 50), percentile(times, 95), max(times, default=0.0)
    )


def max_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(
    retriever: HybridRetriever, cases: list[Case], articles: list[Article], rounds: int = 1
) -> dict[str, Any]:
    """Retrieval latency per language and mode, and the cost of re-indexing one article."""
    report: dict[str, Any] = {"articles": len(articles), "retrieval": {}}
    languages = sorted({c.lang or retriever.detect_language(c.text) for c in cases})
    for lang in languages:
        texts = [c.text for c in cases if (c.lang or retriever.detect_language(c.text)) == lang]
        for mode in ("hybrid", "dense", "lexical"):
            calls = [
                partial(retriever.retrieve, t, lang=lang, mode=mode)
                for _ in range(rounds)
                for t in texts
            ]
            report["retrieval"][f"{lang}/{mode}"] = _timed(f"{lang}/{mode}", calls).as_dict()
    if articles:
        sample = articles[: min(10, len(articles))]

        def reindex(article: Article) -> None:
            retriever.upsert(Article(**{**vars(article), "body": article.body + "\n\n(edited)"}))
            retriever.upsert(article)

        result = _timed("upsert", [partial(reindex, a) for a in sample])
        report["reindex_one_article_ms"] = {**result.as_dict(), "note": "two upserts per sample"}
    report["max_rss_mib"] = round(max_rss_mib(), 1)
    return report
