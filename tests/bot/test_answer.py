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


def test_a_language_can_have_its_own_answer_threshold() -> None:
    thresholds = Thresholds(answer=0.5, suggest=0.3, answer_by_lang={"ja": 0.8})
    assert thresholds.answer_for("ja") == 0.8 and thresholds.answer_for("en") == 0.5
    ja = RetrievalResult(
        query="q",
        lang="ja",
        mode="hybrid",
        articles=result(0.7).articles,
        confidence=0.7,
        latency_ms=1.0,
    )
    assert decide_answer(ja, thresholds) is AnswerOutcome.SUGGEST
    assert decide_answer(result(0.7), thresholds) is AnswerOutcome.ANSWER
    with pytest.raises(ValueError, match="for ja"):
        Thresholds(answer=0.5, suggest=0.3, answer_by_lang={"ja": 0.2})


def test_a_language_can_have_its_own_suggest_threshold() -> None:
    """Below it the bot says it does not know (and the question reaches the gaps page)
    instead of offering articles."""
    thresholds = Thresholds(answer=0.7, suggest=0.3, suggest_by_lang={"en": 0.5})
    assert decide_answer(result(0.4), thresholds) is AnswerOutcome.DECLINE  # English
    assert decide_answer(result(0.55), thresholds) is AnswerOutcome.SUGGEST
    ja = RetrievalResult(
        query="q",
        lang="ja",
        mode="hybrid",
        articles=result(0.4).articles,
        confidence=0.4,
        latency_ms=1.0,
    )
    assert decide_answer(ja, thresholds) is AnswerOutcome.SUGGEST
    with pytest.raises(ValueError, match="for en"):
        Thresholds(answer=0.5, suggest=0.3, suggest_by_lang={"en": 0.6})
