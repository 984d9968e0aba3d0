"""HybridRetriever with fake embeddings: retrieval, updates, sync, persistence, threads."""

from __future__ import annotations

import threading

import pytest

from retrieval.chunking import chunk_article
from retrieval.hybrid import MODES, HybridRetriever
from retrieval.kb import Article
from tests.conftest import CountingEmbedding
from tests.retrieval import _hybrid
from tests.retrieval._hybrid import (
    ARTICLES,
    PASSWORD_EN,
    RETURN_EN,
    RETURN_JA,
    finds,
    ids,
    make,
)

# the fixture, found by name
retriever = _hybrid.retriever


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How do I send back an item?", "return-item"),
        ("what does the courier label cost", "return-item"),
        ("I forgot my password", "reset-password"),
        ("the reset link expired", "reset-password"),
        ("返品したい", "return-item-ja"),
        ("返送の送料はいくら？", "return-item-ja"),
        ("へんぴんしたい", "return-item-ja"),
        ("パスワードを忘れました", "reset-password-ja"),
        ("再設定メールが届かない", "reset-password-ja"),
    ],
)
def test_lexical_mode_finds_the_article_by_its_words(
    retriever: HybridRetriever, query: str, expected: str
) -> None:
    assert finds(retriever, query, expected)


def test_results_stay_in_the_query_language(retriever: HybridRetriever) -> None:
    en = retriever.retrieve("forgot password", mode="lexical")
    ja = retriever.retrieve("パスワードを忘れた", mode="lexical")
    assert en.lang == "en"
    assert set(ids(en)) == {"return-item", "reset-password"}
    assert ja.lang == "ja"
    assert set(ids(ja)) == {"return-item-ja", "reset-password-ja"}


def test_k_limits_the_number_of_articles(retriever: HybridRetriever) -> None:
    assert len(retriever.retrieve("password", k=1, mode="lexical").articles) == 1
    assert len(retriever.retrieve("password", k=10, mode="lexical").articles) == 2


def test_dense_mode_finds_the_article_whose_section_the_query_repeats(
    retriever: HybridRetriever,
) -> None:
    # Fake embeddings are deterministic per text: the exact search text of a chunk is the
    # one query whose vector matches that chunk.
    chunk = chunk_article(PASSWORD_EN)[1]
    result = retriever.retrieve(chunk.search_text, lang="en", mode="dense")
    assert result.top is not None
    assert result.top.article_id == "reset-password"
    assert result.top.passages[0].heading == chunk.heading


def test_results_carry_passages_with_headings_and_the_article_url(
    retriever: HybridRetriever,
) -> None:
    result = retriever.retrieve("courier label fee", mode="lexical")
    top = result.top
    assert top is not None
    assert top.article_id == "return-item"
    assert top.url == RETURN_EN.url
    assert top.title == RETURN_EN.title
    assert top.passages
    assert top.passages[0].heading == "Return shipping fee"
    assert "courier label" in top.passages[0].text
    assert len(top.passages) <= retriever.config.passages_per_article


def test_japanese_result_passage_has_its_heading(retriever: HybridRetriever) -> None:
    top = retriever.retrieve("返品の送料", mode="lexical").top
    assert top is not None
    assert top.url == RETURN_JA.url
    assert top.passages[0].heading == "返品の送料"


def test_hybrid_result_has_confidence_and_scores(retriever: HybridRetriever) -> None:
    result = retriever.retrieve("I forgot my password")
    assert result.mode == "hybrid"
    assert 0.0 <= result.confidence <= 1.0
    assert result.top is not None
    assert result.top.dense_score is not None  # English is an embedding language
    ja = retriever.retrieve("パスワードを忘れました")
    assert ja.top is not None
    assert ja.top.dense_score is None  # Japanese is lexical only by default
    assert ja.top.article_id == "reset-password-ja"


def test_a_matching_question_is_more_confident_than_an_unrelated_one(
    retriever: HybridRetriever,
) -> None:
    good = retriever.retrieve("forgot password reset link", mode="lexical")
    off = retriever.retrieve("is the linen shirt washable", mode="lexical")
    assert good.confidence > off.confidence


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_ranks_the_articles_of_the_query_language(
    retriever: HybridRetriever, mode: str
) -> None:
    for query, lang in (("I forgot my password", "en"), ("パスワードを忘れました", "ja")):
        result = retriever.retrieve(query, mode=mode)
        assert result.mode == mode
        assert result.lang == lang
        assert len(result.articles) == 2
        assert {a.lang for a in result.articles} == {lang}
        assert 0.0 <= result.confidence <= 1.0


def test_unknown_mode_raises_value_error(retriever: HybridRetriever) -> None:
    with pytest.raises(ValueError, match="'fuzzy'"):
        retriever.retrieve("password", mode="fuzzy")


@pytest.mark.parametrize(
    ("lang", "query", "detected", "expected"),
    [
        ("fr", "I forgot my password", "en", "reset-password"),
        ("ko", "返品したい", "ja", "return-item-ja"),
    ],
)
def test_a_language_without_articles_falls_back_to_the_detected_one(
    retriever: HybridRetriever, lang: str, query: str, detected: str, expected: str
) -> None:
    result = retriever.retrieve(query, lang=lang, mode="lexical")
    assert result.lang == detected
    assert ids(result)[0] == expected


def test_an_explicit_language_is_respected(retriever: HybridRetriever) -> None:
    result = retriever.retrieve("password", lang="ja", mode="lexical")
    assert result.lang == "ja"
    assert set(ids(result)) <= {"return-item-ja", "reset-password-ja"}


def test_empty_retriever_returns_nothing(fake_embeddings: CountingEmbedding) -> None:
    result = make(fake_embeddings).retrieve("where is my parcel")
    assert result.articles == []
    assert result.top is None
    assert result.confidence == 0.0


# --------------------------------------------------------------------------- updates


def test_concurrent_upserts_and_retrieves_do_not_crash(
    retriever: HybridRetriever,
) -> None:
    threads, ops = 4, 20
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(ops):
                if n % 2 == 0:
                    lang = "ja" if worker % 2 else "en"
                    body = f"{'返品' if lang == 'ja' else 'parcel'} note {worker} {n}"
                    retriever.upsert(
                        Article(id=f"t{worker}-{n}", title=f"T {worker} {n}", lang=lang, body=body)
                    )
                else:
                    query = "返品したい" if n % 4 == 1 else "I forgot my password"
                    result = retriever.retrieve(query, mode="hybrid" if n % 3 else "lexical")
                    assert result.articles
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)

    assert not any(t.is_alive() for t in pool)
    assert errors == []
    assert len(retriever) == len(ARTICLES) + threads * ops // 2
    assert finds(retriever, "I forgot my password", "reset-password")


def test_the_encoder_is_not_asked_about_japanese_it_cannot_read() -> None:
    from retrieval.hybrid import _unreadable_for_encoder

    assert _unreadable_for_encoder("へんぴんしたい")  # kana without conversion
    assert _unreadable_for_encoder("kyanseru dekimasu ka")  # romaji
    assert not _unreadable_for_encoder("返品したい")
    assert not _unreadable_for_encoder("キャンセルできますか")  # a katakana word it knows


def test_a_question_started_ahead_is_embedded_once_and_ranked_the_same(
    retriever: HybridRetriever, fake_embeddings: CountingEmbedding
) -> None:
    question = "Where do I reset my password?"
    expected = make(CountingEmbedding(size=32), ARTICLES).retrieve(question, lang="en")
    before = fake_embeddings.texts
    retriever.prefetch(question, lang="en")
    retriever.prefetch(question, lang="en")  # on its way already
    result = retriever.retrieve(question, lang="en")
    assert fake_embeddings.texts == before + 1
    assert [(a.article_id, a.score) for a in result.articles] == [
        (a.article_id, a.score) for a in expected.articles
    ]
    retriever.prefetch(question, lang="en")  # asked before: nothing to do
    assert fake_embeddings.texts == before + 1
