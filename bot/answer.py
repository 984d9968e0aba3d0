"""The answer policy on top of retrieval: answer, offer choices, or decline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from retrieval.types import RetrievalResult


class AnswerOutcome(StrEnum):
    """What the bot does with a retrieval result."""

    ANSWER = "answer"  # confident: answer from the top article and cite it
    SUGGEST = "suggest"  # unsure: offer the best few articles as choices
    DECLINE = "decline"  # nothing fits: say so honestly and offer a person


@dataclass(frozen=True)
class Thresholds:
    """Confidence thresholds; `suggest` must not exceed `answer`.

    `answer_by_lang` overrides the answer threshold per language: confidence means
    different things where it rests on lexical evidence alone (Japanese with an
    English-only embedding model) and where the embedding model counts too.
    """

    answer: float = 0.5
    suggest: float = 0.3
    answer_by_lang: Mapping[str, float] = field(default_factory=dict)
    suggest_by_lang: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for lang in {"*", *self.answer_by_lang, *self.suggest_by_lang}:
            answer, suggest = self.answer_for(lang), self.suggest_for(lang)
            if not 0 <= suggest <= answer <= 1:
                where = "" if lang == "*" else f" for {lang}"
                raise ValueError(
                    f"thresholds must satisfy 0 <= suggest <= answer <= 1{where} "
                    f"(got suggest={suggest}, answer={answer})"
                )

    def answer_for(self, lang: str) -> float:
        """The answer threshold for a language (the default one when it has none)."""
        return self.answer_by_lang.get(lang, self.answer)

    def suggest_for(self, lang: str) -> float:
        """The threshold below which the bot declines, for a language."""
        return self.suggest_by_lang.get(lang, self.suggest)


def decide_answer(result: RetrievalResult, thresholds: Thresholds) -> AnswerOutcome:
    """Answer above the answer threshold, suggest between the two, decline below."""
    if result.top is None:
        return AnswerOutcome.DECLINE
    if result.confidence >= thresholds.answer_for(result.lang):
        return AnswerOutcome.ANSWER
    if result.confidence >= thresholds.suggest_for(result.lang):
        return AnswerOutcome.SUGGEST
    return AnswerOutcome.DECLINE
