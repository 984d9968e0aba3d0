"""The evaluation runner on a small knowledge base (lexical mode, fake embeddings)."""

from __future__ import annotations

from bot.answer import Thresholds
from eval.cases import Case
from eval.runner import evaluate
from retrieval.hybrid import HybridRetriever
from retrieval.kb import Article
from tests.conftest import CountingEmbedding

ARTICLES = [
    Article(
        id="returns",
        title="Returning an item",
        lang="en",
        body="## Steps\nSend the item back within 30 days with the return label.",
    ),
    Article(
        id="password",
        title="Resetting your password",
        lang="en",
        body="## Steps\nUse the forgot password link; the reset link is valid 30 minutes.",
    ),
    Article(
        id="henpin",
        title="返品の方法",
        lang="ja",
        body="## 手順\n商品到着から30日以内に返品できます。返品ラベルを印刷してください。",
    ),
]


def make_retriever() -> HybridRetriever:
    retriever = HybridRetriever(CountingEmbedding(size=16), model_name="fake")
    retriever.sync(ARTICLES)
    return retriever


def test_report_scores_retrieval_answers_and_languages() -> None:
    cases = [
        Case(
            text="how do I send an item back with the return label",
            id="1",
            lang="en",
            gold=("returns",),
        ),
        Case(text="forgot password reset link", id="2", lang="en", gold=("password",)),
        Case(text="返品したいです", id="3", lang="ja", gold=("henpin",)),
        Case(text="what colour is the sky on mars", id="4", lang="en", gold=()),
        Case(text="I want a human", id="5", handoff=True),
    ]
    report, results = evaluate(
        make_retriever(), cases, mode="lexical", thresholds=Thresholds(answer=0.5, suggest=0.3)
    )
    assert report["cases"] == 5
    assert report["retrieval"]["n"] == 3
    assert report["retrieval"]["hit@1"] == 1.0
    assert set(report["by_lang"]) == {"en", "ja"}
    assert report["answer"]["n_unanswerable"] == 1
    assert report["answer"]["false_answer"] == 0.0
    assert report["answer"]["answered_correct"] > 0
    assert len(results) == 4, "cases without gold are not run for retrieval"


def test_a_wrong_top_article_counts_as_wrong_not_correct() -> None:
    cases = [
        Case(text="reset link valid 30 minutes password", id="1", lang="en", gold=("returns",))
    ]
    report, _ = evaluate(
        make_retriever(), cases, mode="lexical", thresholds=Thresholds(answer=0.0, suggest=0.0)
    )
    assert report["answer"]["answered_correct"] == 0.0
    assert report["answer"]["answered_wrong"] == 1.0
