"""Knowledge gaps: what customers asked that the articles could not answer, grouped.

Sources, over a period: questions the bot declined, conversations handed off for low
confidence, and answers marked 👎. Questions are grouped by word overlap (the language's
own analyser, so Japanese groups as well as English) into topics with counts, languages
and examples, newest first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from retrieval.analysis import READING_PREFIX, get_analyzer
from storage.models import Message


@dataclass(frozen=True)
class GapQuestion:
    text: str
    lang: str
    reason: str  # "declined", "low_confidence", "unhelpful"
    at: datetime


@dataclass
class Topic:
    questions: list[GapQuestion] = field(default_factory=list)
    terms: Counter[str] = field(default_factory=Counter)

    @property
    def latest(self) -> datetime:
        return max(q.at for q in self.questions)

    def as_dict(self, examples: int = 5) -> dict[str, Any]:
        ordered = sorted(self.questions, key=lambda q: q.at, reverse=True)
        return {
            "label": " / ".join(t for t, _ in self.terms.most_common(3)) or ordered[0].text[:40],
            "count": len(self.questions),
            "languages": dict(Counter(q.lang for q in self.questions)),
            "reasons": dict(Counter(q.reason for q in self.questions)),
            "latest": ordered[0].at.isoformat(),
            "examples": [q.text for q in ordered[:examples]],
        }


def _terms(question: GapQuestion) -> set[str]:
    return {
        t
        for t in get_analyzer(question.lang).analyze(question.text)
        if not t.startswith(READING_PREFIX)
    }


def group(questions: list[GapQuestion], threshold: float = 0.25) -> list[Topic]:
    """Greedy grouping: a question joins the topic whose terms it overlaps most (Jaccard
    with the topic's frequent terms) when the overlap reaches `threshold`."""
    topics: list[Topic] = []
    for question in sorted(questions, key=lambda q: q.at):
        terms = _terms(question)
        best, best_score = None, 0.0
        for topic in topics:
            if topic.questions[0].lang != question.lang:
                continue
            core = {t for t, n in topic.terms.items() if n * 2 >= len(topic.questions)} or set(
                topic.terms
            )
            union = terms | core
            score = len(terms & core) / len(union) if union else 0.0
            if score > best_score:
                best, best_score = topic, score
        if best is None or best_score < threshold:
            best = Topic()
            topics.append(best)
        best.questions.append(question)
        best.terms.update(terms)
    return sorted(topics, key=lambda t: (t.latest, len(t.questions)), reverse=True)


class GapService:
    """Reads the questions the knowledge base could not answer from the conversations."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def report(self, days: int, now: datetime | None = None) -> dict[str, Any]:
        """The last `days` days' gap questions, grouped into topics (newest first)."""
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        questions = await self.questions(since)
        return {
            "days": days,
            "questions": len(questions),
            "topics": [t.as_dict() for t in group(questions)],
        }

    async def questions(self, since: datetime) -> list[GapQuestion]:
        """The customers' questions behind the bot's declines, low-confidence handoffs and
        answers marked unhelpful, sent at or after `since`."""
        async with self.sessions() as session:
            replies = list(
                await session.scalars(
                    select(Message).where(
                        Message.role == "bot",
                        Message.created_at >= since,
                        (Message.kind == "decline")
                        | (Message.helpful.is_(False))
                        | (
                            (Message.kind == "handoff")
                            & (Message.meta["scores"]["consecutive_misses"].as_integer() >= 1)
                        ),
                    )
                )
            )
            asked: list[GapQuestion] = []
            for reply in replies:
                seq = (reply.meta or {}).get("reply_to")
                question = (
                    await session.scalar(
                        select(Message).where(
                            Message.conversation_id == reply.conversation_id, Message.seq == seq
                        )
                    )
                    if seq
                    else None
                )
                if question is None:
                    continue
                reason = (
                    "unhelpful"
                    if reply.helpful is False
                    else "low_confidence"
                    if reply.kind == "handoff"
                    else "declined"
                )
                asked.append(
                    GapQuestion(question.text, reply.lang or "en", reason, reply.created_at)
                )
        return asked
