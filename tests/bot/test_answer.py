"""The answer policy on top of retrieval confidence."""

from __future__ import annotations

import pytest

from bot.answer import AnswerOutcome, Thresholds, decide_answer
from retrieval.types import RetrievalResult, ScoredArticle


def result(confidence: float, with_article: bool = True) -> RetrievalResult:
    article = ScoredArticle(
        article_id="a",
        title="A",
        lang="en",
        url=None,
        score=1.0,
        dense_score=None,
        lexical_score=1.0,
        passages=[],
    )
    return RetrievalResult(
        query="q",
        lang="en",
        mode="hybrid",
        articles=[article] if with_article else [],
        confidence=confidence,
        latency_ms=1.0,
    )


@pytest.mark.parametrize(
    ("confidence", "outcome"),
    [
        (0.9, AnswerOutcome.ANSWER),
        (0.5, AnswerOutcome.ANSWER),
        (0.4, AnswerOutcome.SUGGEST),
        (0.1, AnswerOutcome.DECLINE),
    ],
)
def test_outcome_follows_the_thresholds(confidence: float, outcome: AnswerOutcome) -> None:
    assert decide_answer(result(confidence), Thresholds(answer=0.5, suggest=0.3)) is outcome


def test_no_article_is_always_declined() -> None:
    assert decide_answer(result(1.0, with_article=False), Thresholds()) is AnswerOutcome.DECLINE


def test_inverted_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="suggest=0.6, answer=0.5"):
        Thresholds(answer=0.5, suggest=0.6)
