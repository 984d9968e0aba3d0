"""The answer policy on top of retrieval: answer, offer choices, or decline."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from retrieval.types import RetrievalResult


class AnswerOutcome(StrEnum):
    """What the bot does with a retrieval result."""

    ANSWER = "answer"  # confident: answer from the top article and cite it
    SUGGEST = "suggest"  # unsure: offer the best few articles as choices
    DECLINE = "decline"  # nothing fits: say so honestly and offer a person


@dataclass(frozen=True)
class Thresholds:
    """Confidence thresholds; `suggest` must not exceed `answer`."""

    answer: float = 0.5
    suggest: float = 0.3

    def __post_init__(self) -> None:
        if not 0 <= self.suggest <= self.answer <= 1:
            raise ValueError(
                f"thresholds must satisfy 0 <= suggest <= answer <= 1 "
                f"(got suggest={self.suggest}, answer={self.answer})"
            )


def decide_answer(result: RetrievalResult, thresholds: Thresholds) -> AnswerOutcome:
    """Answer above the answer threshold, suggest between the two, decline below."""
    if result.top is None:
        return AnswerOutcome.DECLINE
    if result.confidence >= thresholds.answer:
        return AnswerOutcome.ANSWER
    if result.confidence >= thresholds.suggest:
        return AnswerOutcome.SUGGEST
    return AnswerOutcome.DECLINE
