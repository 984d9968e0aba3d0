"""The approximate dense index (faiss IVF) past the size threshold, with the real model:
forced on the sample knowledge base by a low threshold, it answers as the exact one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from eval.cases import load_cases
from retrieval.embeddings import DEFAULT_MODEL, SentenceTransformerEmbeddings
from retrieval.hybrid import HybridRetriever, RetrievalConfig
from retrieval.kb import load_kb
from retrieval.sentence_encoder import SentenceEncoder, default_encoder
from tests.conftest import SAMPLE_KB

pytestmark = pytest.mark.model

ROOT = SAMPLE_KB.parent
# few candidates and a tiny sample of articles for the dense spread: the approximation
# has to carry weight here, unlike with the defaults on a KB this small
FORCED = RetrievalConfig(approximate_above=64, candidates=10, dense_sample=8)


class Remembered(Embeddings):
    """The real model, each text embedded once for both retrievers (for tests only)."""

    def __init__(self, model: SentenceTransformerEmbeddings) -> None:
        self.model = model
        self.dimensions = model.dimensions
        self.seen: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        self.seen.update(zip(new, self.model.encode(new).tolist(), strict=True))
        return [self.seen[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class RememberedEncoder(SentenceEncoder):
    """The packaged sentence encoder, each text encoded once (for tests only)."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.name, self.dimensions = encoder.name, encoder.dimensions
        self.seen: dict[str, np.ndarray] = {}

    def _encode(self, texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        self.seen.update(zip(new, self.encoder.encode(new), strict=True))
        return np.stack([self.seen[t] for t in texts])


@pytest.fixture(scope="module")
def both(real_embeddings: SentenceTransformerEmbeddings) -> tuple[HybridRetriever, HybridRetriever]:
    articles = load_kb(SAMPLE_KB).articles
    embeddings, encoder = Remembered(real_embeddings), RememberedEncoder(default_encoder())
    exact = HybridRetriever(embeddings, model_name=DEFAULT_MODEL, sentence_encoder=encoder)
    exact.sync(articles)
    approximate = HybridRetriever(
        embeddings, model_name=DEFAULT_MODEL, config=FORCED, sentence_encoder=encoder
    )
    approximate.sync(articles)
    return exact, approximate


def test_past_the_threshold_the_dense_index_is_approximate(
    both: tuple[HybridRetriever, HybridRetriever],
) -> None:
    exact, approximate = both
    assert exact.index_info()["en"]["dense"] == exact.index_info()["en"]["titles"] == "flat"
    # the titles too: searched exactly, they would be what grows with the knowledge base
    assert approximate.index_info()["en"]["dense"] == "ivf"
    assert approximate.index_info()["en"]["titles"] == "ivf"
    assert approximate.index_info()["en"]["chunks"] == exact.index_info()["en"]["chunks"]


def test_the_approximate_index_finds_what_the_exact_one_finds(
    both: tuple[HybridRetriever, HybridRetriever],
) -> None:
    exact, approximate = both
    cases = [c for c in load_cases(ROOT / "eval/datasets/en_retrieval.jsonl") if c.gold]
    hits = {"exact": 0, "approximate": 0}
    same_top = 0
    for case in cases:
        gold = case.gold or ()
        tops = {}
        for name, retriever in (("exact", exact), ("approximate", approximate)):
            ranked = [a.article_id for a in retriever.retrieve(case.text, lang="en", k=3).articles]
            hits[name] += any(a in gold for a in ranked)
            tops[name] = ranked[:1]
        same_top += tops["exact"] == tops["approximate"]
    n = len(cases)
    assert n >= 150
    assert abs(hits["exact"] - hits["approximate"]) / n <= 0.01, hits
    assert same_top / n >= 0.97, f"the first article agrees for {same_top} of {n}"


def test_japanese_ranked_with_the_encoder_approximately_finds_what_exact_finds(
    both: tuple[HybridRetriever, HybridRetriever],
) -> None:
    """The encoder scores only the candidates in an approximate language, its spread taken
    from the sample: the ranking stays what the exact search gives."""
    exact, approximate = both
    assert approximate.index_info()["ja"]["dense"] == "ivf"
    cases = [c for c in load_cases(ROOT / "eval/datasets/ja_retrieval.jsonl") if c.gold]
    hits = {"exact": 0, "approximate": 0, "bm25": 0}
    bm25 = approximate.with_config(replace(FORCED, encoder_rank_weights={}))
    same_top = 0
    for case in cases:
        tops = {}
        for name, retriever in (("exact", exact), ("approximate", approximate), ("bm25", bm25)):
            ranked = [a.article_id for a in retriever.retrieve(case.text, lang="ja").articles]
            hits[name] += ranked[0] in (case.gold or ())
            tops[name] = ranked[:1]
        same_top += tops["exact"] == tops["approximate"]
    n = len(cases)
    assert abs(hits["exact"] - hits["approximate"]) / n <= 0.01, hits
    assert same_top / n >= 0.97, f"the first article agrees for {same_top} of {n}"
    assert hits["approximate"] > hits["bm25"], "the encoder still counts"


def test_the_same_vectors_are_searched_exactly_or_approximately_on_request(
    both: tuple[HybridRetriever, HybridRetriever],
) -> None:
    exact, approximate = both
    made_exact = approximate.with_config(exact.config)
    assert made_exact.index_info()["en"]["dense"] == "flat"
    assert made_exact.index_info()["en"]["titles"] == "flat"
    assert approximate.index_info()["en"]["dense"] == "ivf", "the original is unchanged"
    for question in ("How do I return an item?", "Where is my parcel?"):
        expected = exact.retrieve(question)
        got = made_exact.retrieve(question)
        assert [a.article_id for a in got.articles] == [a.article_id for a in expected.articles]
        assert got.confidence == pytest.approx(expected.confidence, abs=1e-4)


def test_an_approximate_index_takes_updates(
    both: tuple[HybridRetriever, HybridRetriever],
) -> None:
    _, approximate = both
    twin = approximate.fork()
    assert twin.delete("reset-password")
    assert "reset-password" not in [
        a.article_id for a in twin.retrieve("I forgot my password").articles
    ]
    assert approximate.retrieve("I forgot my password").top.article_id == "reset-password"  # type: ignore[union-attr]
