"""Knowledge gaps: what customers asked that the articles could not answer, grouped.

Sources, over a period: questions the bot declined, conversations handed off for low
confidence, questions to which it offered articles and the customer took none of them (wrote
again instead, or asked for a person), and the bot's confident mistakes: answers marked 👎
and answers the customer followed by asking for a person (those come with the answer that
was given and the article it cited). Questions are grouped by word overlap (the language's
own analyser, so Japanese groups as well as English) into topics with counts, languages,
examples and the articles offered instead, newest first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.rendering import render_markdown
from retrieval.analysis import READING_PREFIX, get_analyzer
from retrieval.topics import topic_label
from storage.models import Message


@dataclass(frozen=True)
class GapQuestion:
    text: str
    lang: str
    # "declined", "low_confidence", "none_chosen", "unhelpful", "person_after_answer"
    reason: str
    at: datetime
    answer: str | None = None  # the bot's answer, when it gave one that did not help
    article_id: str | None = None  # the article that answer cited first
    offered: tuple[tuple[str, str], ...] = ()  # (id, title) of the articles offered instead


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
            # in the words the customers wrote, not the index's terms (@リョウキン, 辺鄙)
            "label": topic_label([q.text for q in ordered], ordered[0].lang)
            or ordered[0].text[:40],
            "count": len(self.questions),
            "languages": dict(Counter(q.lang for q in self.questions)),
            "reasons": dict(Counter(q.reason for q in self.questions)),
            "latest": ordered[0].at.isoformat(),
            "examples": [q.text for q in ordered[:examples]],
            # the articles the bot offered for these questions, which customers passed over
            "offered": [
                {"article_id": article_id, "title": title, "count": n}
                for (article_id, title), n in Counter(
                    pair for q in self.questions for pair in q.offered
                ).most_common(examples)
            ],
            "mistakes": [
                {
                    "question": q.text,
                    "answer": q.answer,
                    "answer_html": render_markdown(q.answer),
                    "article_id": q.article_id,
                    "reason": q.reason,
                }
                for q in ordered
                if q.answer is not None
            ][:examples],
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
        """The customers' questions behind the bot's declines, low-confidence handoffs,
        offers of articles none of which was taken, answers marked unhelpful and answers
        followed by a request for a person, sent at or after `since`."""
        async with self.sessions() as session:
            replies = list(
                await session.scalars(
                    select(Message).where(
                        Message.role == "bot",
                        Message.created_at >= since,
                        (Message.kind == "decline")
                        | (Message.helpful.is_(False))
                        | (Message.kind == "handoff")
                        | (Message.kind == "suggestions"),
                    )
                )
            )
            asked: list[GapQuestion] = []
            for reply in replies:
                if reply.kind == "suggestions" and reply.helpful is not False:
                    if not await _none_chosen(session, reply):
                        continue
                    reply_reason = "none_chosen"
                elif reply.kind == "handoff" and reply.helpful is not False:
                    if _misses(reply) >= 1:
                        reply_reason = "low_confidence"
                    else:  # asked for a person (or upset): did an answer just fail them?
                        answer = await _answer_before(session, reply)
                        if answer is None:
                            continue
                        reply, reply_reason = answer, "person_after_answer"
                else:
                    reply_reason = "unhelpful" if reply.helpful is False else "declined"
                question = await _question_of(session, reply)
                if question is None:
                    continue
                gave_answer = reply.kind == "answer"
                asked.append(
                    GapQuestion(
                        question.text,
                        reply.lang or "en",
                        reply_reason,
                        reply.created_at,
                        answer=reply.text if gave_answer else None,
                        article_id=_first_article(reply) if gave_answer else None,
                        offered=_articles(reply) if reply.kind == "suggestions" else (),
                    )
                )
        return _once_each(asked)


async def _none_chosen(session: AsyncSession, offer: Message) -> bool:
    """Whether the customer wrote again after the bot offered articles, without taking
    one of them (a customer who has not written since may still be reading them)."""
    after = await session.scalar(
        select(Message.kind)
        .where(
            Message.conversation_id == offer.conversation_id,
            Message.role == "customer",
            Message.seq > offer.seq,
        )
        .order_by(Message.seq)
        .limit(1)
    )
    return after is not None and after != "choice"


def _misses(reply: Message) -> int:
    scores = (reply.meta or {}).get("scores") or {}
    return int(scores.get("consecutive_misses") or 0)


async def _question_of(session: AsyncSession, reply: Message) -> Message | None:
    """The customer message a bot reply answered (`meta.reply_to`)."""
    seq = (reply.meta or {}).get("reply_to")
    if not seq:
        return None
    return await session.scalar(
        select(Message).where(Message.conversation_id == reply.conversation_id, Message.seq == seq)
    )


async def _answer_before(session: AsyncSession, handoff: Message) -> Message | None:
    """The bot's answer just before a handoff, when its last reply was one."""
    previous = await session.scalar(
        select(Message)
        .where(
            Message.conversation_id == handoff.conversation_id,
            Message.role == "bot",
            Message.seq < handoff.seq,
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return previous if previous is not None and previous.kind == "answer" else None


def _articles(reply: Message) -> tuple[tuple[str, str], ...]:
    """(id, title) of the articles a reply cites or offers, in its order."""
    return tuple(
        (str(c["article_id"]), str(c.get("title") or c["article_id"]))
        for c in reply.citations or []
        if isinstance(c, dict) and c.get("article_id")
    )


def _first_article(reply: Message) -> str | None:
    cited = _articles(reply)
    return cited[0][0] if cited else None


def _once_each(questions: list[GapQuestion]) -> list[GapQuestion]:
    """An answer marked 👎 and then followed by a handoff counts once (as unhelpful)."""
    seen: set[tuple[str, datetime, str | None]] = set()
    kept: list[GapQuestion] = []
    for question in sorted(questions, key=lambda q: q.reason != "unhelpful"):
        key = (question.text, question.at, question.answer)
        if question.answer is not None and key in seen:
            continue
        seen.add(key)
        kept.append(question)
    return kept
