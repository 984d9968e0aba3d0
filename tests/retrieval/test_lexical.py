"""BM25 scoring: bm25s' own scores, added up faster."""

from __future__ import annotations

import numpy as np
import pytest

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
def test_the_scores_are_bm25s_own(index: LexicalIndex, question: str) -> None:
    tokens = index.analyzer.analyze(question)
    scores = index.score_array(tokens)
    assert index._bm25 is not None
    known = [t for t in tokens if t in index._bm25.vocab_dict]
    own = index._bm25.get_scores(known) if known else np.zeros(len(PASSAGES))
    assert scores.dtype == np.float32
    assert scores.shape == (len(PASSAGES),)
    np.testing.assert_allclose(scores, own, rtol=1e-5, atol=1e-6)
    assert list(np.argsort(-scores, kind="stable")[:10]) == list(
        np.argsort(-own, kind="stable")[:10]
    )


def test_a_word_asked_twice_counts_twice(index: LexicalIndex) -> None:
    once = index.score_array(["返品"])
    twice = index.score_array(["返品", "返品"])
    assert once.max() > 0
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-6)


def test_an_emptied_index_scores_nothing() -> None:
    terms = LexicalIndex(get_analyzer("en"))
    terms.add([(1, "returns within thirty days")])
    terms.build()
    terms.remove([1])
    terms.build()
    assert terms.score_array(["return"]).shape == (0,)


def test_an_index_emptied_but_not_rebuilt_scores_nothing() -> None:
    terms = LexicalIndex(get_analyzer("en"))
    terms.add([(1, "returns within thirty days"), (2, "shipping to japan")])
    terms.build()
    terms.remove([1, 2])
    assert terms.score_array(["return"]).shape == (0,)
