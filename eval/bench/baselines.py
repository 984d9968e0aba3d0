"""Kakehashi against what a developer would build instead, on the same questions.

- `langchain`: the LangChain tutorial stack: the articles split by
  RecursiveCharacterTextSplitter (1,000 characters, 200 overlap), langchain-community's
  FAISS vector store over HuggingFaceEmbeddings with the same packaged model (offline),
  `similarity_search`; articles ranked by their first chunk.
- `rank_bm25`: rank_bm25's BM25Okapi over character bigrams of each whole article.

Each has an index per language, like Kakehashi, and is asked the answerable questions of
`eval/datasets` (without `heldout/`): hit@1, hit@3, and the time of one query, warm.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eval.cases import Case
from eval.metrics import percentile, rank_of
from retrieval.kb import Article

Ranker = Callable[[str], list[str]]
DEPTH = 10


def _score(cases: Sequence[Case], rank: Ranker, warmup: int = 5) -> dict[str, Any]:
    for case in cases[:warmup]:
        rank(case.text)
    ranks, times = [], []
    for case in cases:
        started = time.perf_counter()
        ranked = rank(case.text)
        times.append((time.perf_counter() - started) * 1000)
        ranks.append(rank_of(ranked, case.gold or ()))
    n = len(ranks)
    return {
        "n": n,
        "hit_at_1": round(sum(r == 1 for r in ranks) / n, 3) if n else 0.0,
        "hit_at_3": round(sum(r is not None and r <= 3 for r in ranks) / n, 3) if n else 0.0,
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
    }


def kakehashi(retriever: Any, lang: str) -> Ranker:
    def rank(text: str) -> list[str]:
        return [a.article_id for a in retriever.retrieve(text, lang=lang, k=DEPTH).articles]

    return rank


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def langchain_stack(articles: Sequence[Article], model_path: str) -> Callable[[str], Ranker]:
    """The tutorial's vector store per language, built once; returns lang -> ranker."""
    with warnings.catch_warnings():  # langchain-community says it is being sunset
        warnings.simplefilter("ignore")
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        embeddings = HuggingFaceEmbeddings(model_name=model_path)
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    stores = {}
    for lang in sorted({a.lang for a in articles}):
        documents = [
            Document(page_content=f"{a.title}\n\n{a.body}", metadata={"article_id": a.id})
            for a in articles
            if a.lang == lang
        ]
        stores[lang] = FAISS.from_documents(splitter.split_documents(documents), embeddings)

    def for_lang(lang: str) -> Ranker:
        store = stores[lang]

        def rank(text: str) -> list[str]:
            found = store.similarity_search(text, k=DEPTH * 2)
            return _unique([d.metadata["article_id"] for d in found])[:DEPTH]

        return rank

    return for_lang


def bigrams(text: str) -> list[str]:
    squashed = " ".join(text.lower().split())
    return [squashed[i : i + 2] for i in range(len(squashed) - 1)] or [squashed]


def rank_bm25_stack(articles: Sequence[Article]) -> Callable[[str], Ranker]:
    from rank_bm25 import BM25Okapi

    indexes = {}
    for lang in sorted({a.lang for a in articles}):
        mine = [a for a in articles if a.lang == lang]
        ids = [a.id for a in mine]
        indexes[lang] = (ids, BM25Okapi([bigrams(f"{a.title}\n{a.body}") for a in mine]))

    def for_lang(lang: str) -> Ranker:
        ids, bm25 = indexes[lang]

        def rank(text: str) -> list[str]:
            scores = bm25.get_scores(bigrams(text))
            order = sorted(range(len(ids)), key=lambda i: -scores[i])
            return [ids[i] for i in order[:DEPTH]]

        return rank

    return for_lang


def compare(
    retriever: Any,
    articles: Sequence[Article],
    cases: Mapping[str, Sequence[Case]],
    model_path: str,
) -> dict[str, Any]:
    """hit@1, hit@3 and query p50/p95 of each system, per language."""
    systems: dict[str, Callable[[str], Ranker]] = {
        "kakehashi": lambda lang: kakehashi(retriever, lang),
        "langchain": langchain_stack(articles, model_path),
        "rank_bm25": rank_bm25_stack(articles),
    }
    return {
        name: {lang: _score(lang_cases, ranker(lang)) for lang, lang_cases in cases.items()}
        for name, ranker in systems.items()
    }
