"""The hybrid retriever with the real all-MiniLM-L6-v2 model on the sample knowledge base."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from retrieval.answer_model import SHIPPED_MODEL
from retrieval.answer_model import load as load_answer_models
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


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("henpin", "return-item-ja"),  # romaji alone, one word
        ("へんぴん", "return-item-ja"),  # kana without conversion
        ("henpin shitai", "return-item-ja"),
        ("kyanseru dekimasu ka", "cancel-order-ja"),
    ],
)
def test_kana_and_romaji_meet_the_articles_words_by_reading(
    sample_retriever: HybridRetriever, query: str, expected: str
) -> None:
    result = sample_retriever.retrieve(query)
    assert result.lang == "ja"
    assert result.top is not None and result.top.article_id == expected
    assert result.confidence >= 0.9  # confident: the encoder is not asked about kana


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("henpin", "return-item-ja"),
        ("へんぴんしたい", "return-item-ja"),
        ("kyanseru dekimasu ka", "cancel-order-ja"),
    ],
)
def test_kana_and_romaji_are_answered_with_the_shipped_answer_model(
    sample_retriever: HybridRetriever, query: str, expected: str
) -> None:
    """The learned Japanese model weighs mostly what the sentence encoder says, and the
    encoder cannot read these; refitted, it offered them as suggestions only. They are
    judged by the curves over their (reading-matched) words instead."""
    models = load_answer_models(SHIPPED_MODEL)
    threshold = json.loads(SHIPPED_MODEL.read_text())["languages"]["ja"]["threshold"]
    config = sample_retriever.config
    shipped = sample_retriever.with_config(
        replace(config, calibration=replace(config.calibration, models=models))
    )
    result = shipped.retrieve(query)
    assert result.top is not None and result.top.article_id == expected
    assert result.confidence >= threshold, "answered, not only suggested"


@pytest.mark.parametrize(
    ("query", "expected", "lexical_alone"),
    [("頼んだのと違う色の商品が届きました", "damaged-or-wrong-item-ja", "exchange-item-ja")],
)
def test_the_sentence_encoder_helps_rank_japanese(
    sample_retriever: HybridRetriever, query: str, expected: str, lexical_alone: str
) -> None:
    """BM25 alone puts the article sharing the most words first; the multilingual encoder
    beside it reads what the question is about (the embedding model reads only English)."""
    assert top_ids(sample_retriever, query, 1) == [expected]
    without = sample_retriever.with_config(
        replace(sample_retriever.config, encoder_rank_weights={})
    )
    assert top_ids(without, query, 1) == [lexical_alone]


def test_asking_how_much_finds_the_article_with_the_prices(
    sample_retriever: HybridRetriever,
) -> None:
    """いくら says the question is about a price. return-item-ja's 「返品送料はかかりますか」
    matches 送料 and かかる as closely as delivery-options-ja's 「送料はいくらですか」, and
    ranked first while いくら, read as an adverb, was dropped like まだ or すぐ."""
    assert top_ids(sample_retriever, "送料はいくらかかりますか", 1) == ["delivery-options-ja"]


@pytest.mark.xfail(
    strict=True,
    reason="no signal here reads 'has not arrived' as tracking: the lexical words (注文, 商品, "
    "届く) are in every order article, the multilingual encoder ranks damaged-item first, and "
    "neither reads the negation (the sample questions of damaged-item say 違うものが届いた)",
)
def test_an_order_that_has_not_arrived_finds_tracking(sample_retriever: HybridRetriever) -> None:
    top = top_ids(sample_retriever, "注文した商品がまだ届きません", 1)
    assert top[0] in {"track-package-ja", "order-status-ja"}
