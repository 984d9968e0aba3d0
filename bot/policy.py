"""The bot's policy: for each customer message, answer, offer choices, decline or hand off.

The bot decides; it never sends anything. The caller stores and delivers the `Decision`.
Order of checks: frustration (it outranks everything, even an available answer), an
explicit request for a person, small talk, then retrieval with the answer thresholds; a
second miss in a row hands off for low confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot import messages
from bot.answer import AnswerOutcome, Thresholds, decide_answer
from bot.compose import Section, budget_for, compose_answer
from bot.frustration import DEFAULT_THRESHOLD, ConversationSignals, FrustrationScore
from bot.frustration import score_frustration as _score_frustration
from bot.intent_model import IntentClassifier, Judgement, default_classifier
from bot.intents import is_handoff_request, smalltalk
from bot.retriever import Retriever
from handoff.reasons import HandoffReason
from retrieval.analysis import get_analyzer
from retrieval.chunking import chunk_article
from retrieval.types import RetrievalResult


class DecisionKind(StrEnum):
    SMALLTALK = "smalltalk"
    ANSWER = "answer"
    SUGGEST = "suggestions"
    DECLINE = "decline"
    HANDOFF = "handoff"


@dataclass(frozen=True)
class Citation:
    article_id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation, as the policy needs to see it."""

    role: str
    text: str
    kind: str | None = None
    helpful: bool | None = None


@dataclass(frozen=True)
class Decision:
    """What the bot does with one customer message."""

    kind: DecisionKind
    lang: str
    text: str
    citations: tuple[Citation, ...] = ()
    confidence: float | None = None
    handoff_reason: HandoffReason | None = None
    frustration: FrustrationScore | None = None
    scores: dict[str, Any] = field(default_factory=dict)

    @property
    def handoff(self) -> bool:
        return self.kind is DecisionKind.HANDOFF


_FOLLOW_UP_EN = re.compile(r"^\s*(and|what about|how about|also|or|but|what if|same for)\b", re.I)
_FOLLOW_UP_JA = re.compile(
    r"^\s*(それと|あと|じゃあ|では|それなら|なら|ちなみに|また|で、)|(は|なら|の場合は)[?？]?\s*$"
)


def is_follow_up(text: str, lang: str) -> bool:
    """A short message that leans on the previous question ("and for overseas orders?")."""
    if lang == "ja":
        return len(text.strip()) <= 20 and bool(_FOLLOW_UP_JA.search(text))
    words = text.split()
    return len(words) <= 6 and (bool(_FOLLOW_UP_EN.match(text)) or len(words) <= 3)


def conversation_signals(history: Sequence[Turn]) -> ConversationSignals:
    """What frustration scoring needs to know about the conversation so far."""
    customer = tuple(t.text for t in history if t.role == "customer")
    bot_turns = [t for t in history if t.role == "bot"]
    unhelpful = 0
    for turn in reversed([t for t in bot_turns if t.kind in ("answer", "suggestions")]):
        if turn.helpful is not False:
            break
        unhelpful += 1
    misses = 0
    for turn in reversed(bot_turns):
        if turn.kind != DecisionKind.DECLINE:
            break
        misses += 1
    return ConversationSignals(
        previous_customer_texts=customer,
        consecutive_unhelpful=unhelpful,
        consecutive_misses=misses,
    )


class Bot:
    """The answer-or-escalate policy over a retriever."""

    def __init__(
        self,
        retriever: Retriever,
        *,
        thresholds: Thresholds | None = None,
        frustration_threshold: float = DEFAULT_THRESHOLD,
        misses_before_handoff: int = 2,
        excerpt_chars: int = 420,
        max_suggestions: int = 3,
        intents: IntentClassifier | None = None,
        learned_intents: bool = True,
    ) -> None:
        """Args (beyond the thresholds):
        excerpt_chars: The budget of an answer's passage in English characters (half as
            many in Japanese); a list or table that answers may take half as much again.
        intents: The learned intent heads; by default the shipped model over the packaged
            sentence encoder (`bot.intent_model.default_classifier`), loaded here, once per
            process. `learned_intents=False` keeps the rules alone.
        """
        self.retriever = retriever
        self.intents = intents or (default_classifier() if learned_intents else None)
        self.thresholds = thresholds or Thresholds()
        self.frustration_threshold = frustration_threshold
        self.misses_before_handoff = misses_before_handoff
        self.excerpt_chars = excerpt_chars
        self.max_suggestions = max_suggestions

    def detect_language(self, text: str) -> str:
        return self.retriever.detect_language(text)

    def prefetch(self, text: str) -> list[Future[Any]]:
        """Start the models on a message the bot is about to answer (its encoding for the
        intents, its embedding for the search) and return at once: they run in their
        batchers' threads while the message is stored, and `respond` finds them done.
        The vectors on their way (none: remembered, or not needed)."""
        started = [self.retriever.prefetch(text, lang=self.detect_language(text))]
        if self.intents is not None:
            started.append(self.intents.prefetch(text))
        return [future for future in started if future is not None]

    def score_frustration(
        self,
        text: str,
        lang: str,
        history: Sequence[Turn] = (),
        judgement: Judgement | None = None,
    ) -> FrustrationScore:
        if judgement is None and self.intents is not None:
            judgement = self.intents.judge(text, lang)
        learned = judgement.frustration if judgement is not None else None
        return _score_frustration(text, lang, conversation_signals(history), learned)

    def judge(self, text: str, lang: str) -> Judgement:
        """The learned heads' verdicts on a message (empty without learned intents)."""
        return self.intents.judge(text, lang) if self.intents is not None else Judgement()

    def respond(self, text: str, history: Sequence[Turn] = (), lang: str | None = None) -> Decision:
        """Decide what to do with one customer message.

        Args:
            text: The customer's message.
            history: Earlier messages of the conversation, oldest first.
            lang: The message's language; detected per message when not given.
        """
        lang = lang or self.detect_language(text)
        # most messages are questions: their embedding is computed while the intents are
        # judged (a request for a person or small talk leaves it unused)
        self.retriever.prefetch(text, lang=lang)
        judgement = self.judge(text, lang)
        frustration = self.score_frustration(text, lang, history, judgement)
        scores: dict[str, Any] = {
            "frustration": round(frustration.score, 4),
            "frustration_signals": frustration.signals,
        }
        if self.intents is not None:
            scores["intents"] = judgement.scores()
        # the rules are exact; the learned head catches wordings they never saw
        asked_for_person = is_handoff_request(text, lang) or judgement.asked_for_person
        if frustration.exceeds(self.frustration_threshold):
            scores["asked_for_person"] = asked_for_person
            return self._handoff(HandoffReason.FRUSTRATION, lang, frustration, scores)
        if asked_for_person:
            return self._handoff(HandoffReason.CUSTOMER_REQUEST, lang, frustration, scores)
        chat = smalltalk(text, lang) or judgement.smalltalk
        if chat is not None:
            return Decision(
                DecisionKind.SMALLTALK,
                lang,
                messages.text(str(chat), lang),
                frustration=frustration,
                scores=scores,
            )

        if not get_analyzer(lang).analyze(text):
            # "ok", "no", "?": nothing to look up, and not a miss either
            return Decision(
                DecisionKind.SMALLTALK,
                lang,
                messages.text("clarify", lang),
                frustration=frustration,
                scores=scores,
            )
        result = self._retrieve(text, lang, history)
        outcome = decide_answer(result, self.thresholds)
        scores.update(
            {"confidence": result.confidence, "retrieval": result.signals, "query": result.query}
        )
        if outcome is AnswerOutcome.ANSWER:
            return self._answer(result, text, lang, frustration, scores)
        if outcome is AnswerOutcome.SUGGEST:
            return self._suggest(result, lang, frustration, scores)
        misses = conversation_signals(history).consecutive_misses + 1
        scores["consecutive_misses"] = misses
        if misses >= self.misses_before_handoff:
            return self._handoff(
                HandoffReason.LOW_CONFIDENCE,
                lang,
                frustration,
                scores,
                confidence=result.confidence,
            )
        return Decision(
            DecisionKind.DECLINE,
            lang,
            messages.text("decline", lang),
            confidence=result.confidence,
            frustration=frustration,
            scores=scores,
        )

    def _retrieve(self, text: str, lang: str, history: Sequence[Turn]) -> RetrievalResult:
        result = self.retriever.retrieve(text, lang=lang, k=self.max_suggestions)
        previous = next((t.text for t in reversed(history) if t.role == "customer"), None)
        if previous is None or not is_follow_up(text, lang):
            return result
        combined = self.retriever.retrieve(f"{previous}\n{text}", lang=lang, k=self.max_suggestions)
        return combined if combined.confidence >= result.confidence else result

    def _answer(
        self,
        result: RetrievalResult,
        question: str,
        lang: str,
        frustration: FrustrationScore,
        scores: dict[str, Any],
    ) -> Decision:
        top = result.articles[0]
        preferred = [p.heading for p in top.passages]
        sections = self._sections(top.article_id) or [
            Section(p.heading, p.text) for p in top.passages
        ]
        return Decision(
            DecisionKind.ANSWER,
            lang,
            self._compose(sections, question, top.lang, lang, top.url, preferred),
            citations=(Citation(top.article_id, top.title, top.url),),
            confidence=result.confidence,
            frustration=frustration,
            scores=scores,
        )

    def answer_from(self, article_id: str, question: str, lang: str | None = None) -> Decision:
        """Answer `question` from the article the customer chose among the suggestions.

        Args:
            article_id: The chosen article.
            question: What the customer asked before choosing (may be empty).
            lang: The conversation's language; the article's when not given.

        Raises:
            KeyError: no article has this id.
        """
        sections = self._sections(article_id)
        article = self.retriever.article(article_id)
        if article is None or not sections:
            raise KeyError(article_id)
        lang = lang or article.lang
        text = self._compose(sections, question or article.title, article.lang, lang, article.url)
        return Decision(
            DecisionKind.ANSWER,
            lang,
            text,
            citations=(Citation(article.id, article.title, article.url),),
            confidence=None,
            scores={"chosen": article_id},
        )

    def _sections(self, article_id: str) -> list[Section]:
        article = self.retriever.article(article_id)
        if article is None:
            return []
        return [
            Section(c.heading, c.text)
            for c in chunk_article(article, max_chars=100_000)
            if not c.question  # customers' words that find the article, not its answer
        ]

    def _compose(
        self,
        sections: Sequence[Section],
        question: str,
        article_lang: str,
        lang: str,
        url: str | None,
        preferred: Sequence[str] = (),
    ) -> str:
        """The passage that answers, then a link to the whole article."""
        budget = budget_for(article_lang, self.excerpt_chars)
        body = compose_answer(sections, question, article_lang, budget, preferred=preferred)
        if url:
            body = f"{body}\n\n[{messages.text('answer_read_more', lang)}]({url})"
        return body

    def _suggest(
        self,
        result: RetrievalResult,
        lang: str,
        frustration: FrustrationScore,
        scores: dict[str, Any],
    ) -> Decision:
        articles = result.articles[: self.max_suggestions]
        # The articles are the message's citations: clients offer them as choices
        # (`choose`), so the text names none of them and links to nothing outside the chat.
        lead_in, follow_up = (
            messages.text(k, lang) for k in ("suggest_lead_in", "suggest_follow_up")
        )
        text = f"{lead_in}\n\n{follow_up}"
        return Decision(
            DecisionKind.SUGGEST,
            lang,
            text,
            citations=tuple(Citation(a.article_id, a.title, a.url) for a in articles),
            confidence=result.confidence,
            frustration=frustration,
            scores=scores,
        )

    def _handoff(
        self,
        reason: HandoffReason,
        lang: str,
        frustration: FrustrationScore,
        scores: dict[str, Any],
        confidence: float | None = None,
    ) -> Decision:
        return Decision(
            DecisionKind.HANDOFF,
            lang,
            messages.text(f"handoff_{reason.value}", lang),
            confidence=confidence,
            handoff_reason=reason,
            frustration=frustration,
            scores=scores,
        )
