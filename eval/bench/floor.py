"""The floor a reply cannot go below: one query embedding, one faiss search, one BM25 scoring.

Each is timed alone, warm, on the real questions and the sample knowledge base, in a worker
thread as the server runs them (replies run in worker threads). The embedding and faiss are
timed in the main thread too: under load from other processes, the OpenMP threads of
PyTorch and faiss make main-thread calls many times slower.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_core.embeddings import Embeddings

from eval.metrics import percentile
from retrieval.analysis import get_analyzer, normalize
from retrieval.chunking import chunk_article
from retrieval.embeddings import encode
from retrieval.kb import Article
from retrieval.lexical import LexicalIndex

WARMUP = 10


def timings(calls: Sequence[Callable[[], object]], warmup: int = WARMUP) -> dict[str, Any]:
    """p50, p95 and max of each call in turn, after `warmup` untimed ones."""
    for call in calls[:warmup]:
        call()
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 3),
        "p95_ms": round(percentile(times, 95), 3),
        "max_ms": round(max(times, default=0.0), 3),
    }


def in_worker(calls: Sequence[Callable[[], object]]) -> dict[str, Any]:
    """`timings` in a worker thread, where the server makes these calls."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(timings, calls).result()


def in_both(calls: Sequence[Callable[[], object]]) -> dict[str, Any]:
    """In a worker thread, and (half as many) in the main thread."""
    return {
        **in_worker(calls),
        "thread": "worker",
        "main_thread": timings(calls[: max(WARMUP, len(calls) // 2)]),
    }


def model_label(embeddings: Embeddings) -> str:
    """The model and where it runs: `all-MiniLM-L6-v2 (openvino)`."""
    name = str(getattr(embeddings, "model_name", type(embeddings).__name__))
    backend = getattr(embeddings, "backend", None)
    return f"{name} ({backend})" if backend else name


def embedding(embeddings: Embeddings, questions: Sequence[str]) -> dict[str, Any]:
    """One question encoded by the retriever's model, as the retriever calls it."""
    return {
        **in_both([partial(encode, embeddings, [q]) for q in questions]),
        "model": model_label(embeddings),
    }


def _saved_vectors(index_dir: Path, lang: str) -> faiss.Index | None:
    path = index_dir / f"chunks-{lang}.faiss"
    return faiss.read_index(str(path)) if path.exists() else None


def faiss_search(
    embeddings: Embeddings, questions: Sequence[str], index_dir: Path, chunks: int
) -> dict[str, Any]:
    """faiss alone: the saved English chunk vectors searched with a ready query vector,
    for every chunk (k = all, as the retriever asks today) and for the best ten."""
    index = _saved_vectors(index_dir, "en")
    source = "the saved English chunk index"
    if index is None:  # no saved index in this layout: as many random unit vectors
        rng = np.random.default_rng(0)
        dims = len(encode(embeddings, ["probe"])[0])
        vectors = rng.standard_normal((chunks, dims)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index = faiss.IndexFlatIP(dims)
        index.add(vectors)
        source = f"{chunks} random unit vectors in a flat index (no saved index found)"
    queries = encode(embeddings, list(questions))
    total = int(index.ntotal)
    out: dict[str, Any] = {"vectors": total, "index": type(index).__name__, "source": source}
    for name, k in (("k_all", total), ("k_10", min(10, total))):
        out[name] = in_both([partial(index.search, v.reshape(1, -1), k) for v in queries])
    out.update({key: out["k_all"][key] for key in ("p50_ms", "p95_ms")})
    return out


def bm25(
    articles: Sequence[Article], questions: Mapping[str, Sequence[str]], max_chars: int
) -> dict[str, Any]:
    """BM25 alone per language: scoring every chunk for an analysed question, and the
    analysis (tokenising, stemming, Japanese morphology) on its own."""
    out: dict[str, Any] = {}
    for lang, texts in sorted(questions.items()):
        analyzer = get_analyzer(lang)
        index = LexicalIndex(analyzer)
        for article in articles:
            if article.lang == lang:
                index.add_chunks(chunk_article(article, max_chars))
        tokens = [analyzer.analyze(t) for t in texts]
        index.scores(tokens[0])  # builds the index
        out[lang] = {
            "chunks": len(index),
            "score": in_worker([partial(index.scores, t) for t in tokens]),
            # a new question's analysis: what `analyze` does when it does not remember it
            "analyse": in_worker([partial(analyzer._analyze, normalize(q)) for q in texts]),
        }
    langs = [lang for lang in out if isinstance(out[lang], dict)]
    out["p50_ms"] = round(max(out[lang]["score"]["p50_ms"] for lang in langs), 3)
    out["p95_ms"] = round(max(out[lang]["score"]["p95_ms"] for lang in langs), 3)
    return out
