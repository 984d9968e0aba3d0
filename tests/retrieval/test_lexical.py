"""BM25 scoring: the same scores whichever way a question's postings are added up."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval import lexical
from retrieval.analysis import get_analyzer
from retrieval.lexical import LexicalIndex

PASSAGES = [
    "注文した商品の配送状況は注文履歴から確認できます。",
    "返品は商品到着から30日以内に注文履歴から申請できます。",
    "商品が破損していた場合は写真を添えてご連絡ください。",
    "ポイントは次回のご注文でご利用いただけます。",
    "配送先の住所は発送前であれば変更できます。",
] * 40  # 200 passages: common words have long postings


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    terms = LexicalIndex(get_analyzer("ja"))
    terms.add(list(enumerate(PASSAGES)))
    terms.build()
    return terms


@pytest.mark.parametrize(
    "question",
    ["注文した商品がまだ届きません", "商品 商品 返品したい", "へんぴん", "unknown words"],
)
def test_long_and_short_postings_score_the_same(
    index: LexicalIndex, question: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = index.analyzer.analyze(question)
    monkeypatch.setattr(lexical, "SPARSE_ABOVE", 10**9)
    counted = index.score_array(tokens)
    monkeypatch.setattr(lexical, "SPARSE_ABOVE", 0)
    summed = index.score_array(tokens)
    assert counted.dtype == summed.dtype == np.float32
    assert counted.shape == summed.shape == (len(PASSAGES),)
    np.testing.assert_allclose(counted, summed, rtol=1e-5, atol=1e-6)
    assert list(np.argsort(-counted, kind="stable")[:10]) == list(
        np.argsort(-summed, kind="stable")[:10]
    )


def test_a_word_asked_twice_counts_twice(
    index: LexicalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "SPARSE_ABOVE", 0)
    once = index.score_array(["返品"])
    twice = index.score_array(["返品", "返品"])
    assert once.max() > 0
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-6)


def test_the_sparse_scores_hold_no_second_copy_of_the_postings(index: LexicalIndex) -> None:
    postings = index._postings
    assert postings is not None and index._bm25 is not None
    assert np.shares_memory(postings.data, index._bm25.scores["data"])
    assert np.shares_memory(postings.indices, index._bm25.scores["indices"])


def test_an_emptied_index_scores_nothing() -> None:
    terms = LexicalIndex(get_analyzer("en"))
    terms.add([(1, "returns within thirty days")])
    terms.build()
    terms.remove([1])
    terms.build()
    assert terms.score_array(["return"]).shape == (0,)
    assert terms._postings is None
