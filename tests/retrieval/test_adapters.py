"""KakehashiRetriever: the hybrid retriever as a LangChain retriever."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from retrieval.adapters import KakehashiRetriever
from retrieval.hybrid import HybridRetriever
from tests.conftest import CountingEmbedding
from tests.retrieval._hybrid import ARTICLES, PASSWORD_EN, PASSWORD_JA


@pytest.fixture
def hybrid(fake_embeddings: CountingEmbedding) -> HybridRetriever:
    retriever = HybridRetriever(fake_embeddings, model_name="fake-model")
    retriever.sync(ARTICLES)
    return retriever


def test_invoke_returns_documents_with_article_metadata(hybrid: HybridRetriever) -> None:
    adapter = KakehashiRetriever(retriever=hybrid, mode="lexical")
    assert isinstance(adapter, BaseRetriever)

    docs = adapter.invoke("I forgot my password")

    assert docs
    assert all(isinstance(d, Document) for d in docs)
    for doc in docs:
        assert {"article_id", "title", "url", "score"} <= doc.metadata.keys()
        assert isinstance(doc.metadata["score"], float)
        assert doc.page_content.strip()
    top = docs[0]
    assert top.metadata["article_id"] == PASSWORD_EN.id
    assert top.metadata["title"] == PASSWORD_EN.title
    assert top.metadata["url"] == PASSWORD_EN.url
    assert "forgot password" in top.page_content


def test_only_the_top_document_carries_the_confidence(hybrid: HybridRetriever) -> None:
    docs = KakehashiRetriever(retriever=hybrid).invoke("I forgot my password")
    assert len(docs) > 1
    assert isinstance(docs[0].metadata["confidence"], float)
    assert 0.0 <= docs[0].metadata["confidence"] <= 1.0
    assert all(d.metadata["confidence"] is None for d in docs[1:])


def test_the_top_confidence_matches_the_retriever(hybrid: HybridRetriever) -> None:
    query = "forgot password reset link"
    docs = KakehashiRetriever(retriever=hybrid, mode="lexical").invoke(query)
    assert docs[0].metadata["confidence"] == hybrid.retrieve(query, mode="lexical").confidence


def test_documents_are_ranked_like_the_retriever(hybrid: HybridRetriever) -> None:
    query = "send back an item"
    docs = KakehashiRetriever(retriever=hybrid, mode="lexical").invoke(query)
    result = hybrid.retrieve(query, mode="lexical")
    assert [d.metadata["article_id"] for d in docs] == [a.article_id for a in result.articles]
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)


def test_k_limits_the_documents(hybrid: HybridRetriever) -> None:
    assert len(KakehashiRetriever(retriever=hybrid, k=1).invoke("password")) == 1
    assert len(KakehashiRetriever(retriever=hybrid, k=3).invoke("password", k=2)) <= 2


def test_japanese_question_gets_japanese_documents(hybrid: HybridRetriever) -> None:
    docs = KakehashiRetriever(retriever=hybrid).invoke("パスワードを忘れました")
    assert docs[0].metadata["article_id"] == PASSWORD_JA.id
    assert {d.metadata["lang"] for d in docs} == {"ja"}


def test_a_fixed_language_is_used(hybrid: HybridRetriever) -> None:
    docs = KakehashiRetriever(retriever=hybrid, lang="ja", mode="lexical").invoke("password")
    assert {d.metadata["lang"] for d in docs} == {"ja"}
