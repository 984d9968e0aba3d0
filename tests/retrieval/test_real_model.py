"""The hybrid retriever with the real all-MiniLM-L6-v2 model on the sample knowledge base."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.embeddings import DEFAULT_MODEL, SentenceTransformerEmbeddings, encode
from retrieval.hybrid import HybridRetriever
from retrieval.kb import load_kb
from tests.conftest import SAMPLE_KB

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def sample_retriever(real_embeddings: SentenceTransformerEmbeddings) -> HybridRetriever:
    """The sample KB embedded once for the module (about 15 s on a CPU)."""
    kb = load_kb(SAMPLE_KB)
    assert kb.ok
    retriever = HybridRetriever(real_embeddings, model_name=DEFAULT_MODEL)
    retriever.sync(kb.articles)
    return retriever


def top_ids(retriever: HybridRetriever, query: str, n: int) -> list[str]:
    return [a.article_id for a in retriever.retrieve(query).articles[:n]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How do I return an item?", "return-item"),
        ("I forgot my password", "reset-password"),
        ("パスワードを忘れました", "reset-password-ja"),
    ],
)
def test_top_article(sample_retriever: HybridRetriever, query: str, expected: str) -> None:
    assert top_ids(sample_retriever, query, 1) == [expected]


def test_where_is_my_parcel_finds_tracking_or_missing_package(
    sample_retriever: HybridRetriever,
) -> None:
    top2 = top_ids(sample_retriever, "Where is my parcel?", 2)
    assert {"track-package", "missing-package"} & set(top2)


def test_japanese_return_question_finds_the_japanese_article(
    sample_retriever: HybridRetriever,
) -> None:
    result = sample_retriever.retrieve("返品したい")
    assert result.lang == "ja"
    assert "return-item-ja" in [a.article_id for a in result.articles[:2]]
    # The English-only model is not used for Japanese: the ranking is lexical.
    assert all(a.dense_score is None for a in result.articles)


def test_off_topic_question_is_less_confident(sample_retriever: HybridRetriever) -> None:
    on_topic = sample_retriever.retrieve("How do I return an item?")
    off_topic = sample_retriever.retrieve("what is the capital of australia")
    assert off_topic.confidence < on_topic.confidence


def test_model_vectors_are_normalised_and_384_dimensional(
    real_embeddings: SentenceTransformerEmbeddings,
) -> None:
    vectors = encode(real_embeddings, ["How do I return an item?", "返品したい", "ok"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = np.asarray(real_embeddings.embed_query("How do I return an item?"))
    assert query.shape == (384,)
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones(
    real_embeddings: SentenceTransformerEmbeddings,
) -> None:
    a, b, c = encode(
        real_embeddings,
        ["How do I send an item back?", "I want to return a product", "Change my e-mail address"],
    )
    assert float(a @ b) > float(a @ c)
