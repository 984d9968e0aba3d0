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

import anyio
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


def _topics(questions: list[GapQuestion]) -> list[dict[str, Any]]:
    return [topic.as_dict() for topic in group(questions)]


def _terms(question: GapQuestion) -> set[str]:
    return {
        t
        for t in get_analyzer(question.lang).analyze(question.text)
        if not t.startswith(READING_PREFIX)
    }


def group(questions: list[GapQuestion], threshold: float = 0.25) -> list[Topic]:
    """Greedy grouping: a question joins the topic whose terms it overlaps most (Jaccard
    with the topic's frequent terms) when the overlap reaches `threshold`; on a tie, the
    older topic.

    Only topics sharing a term with the question can overlap it, so each question is
    scored against those, found through an index of the topics' frequent terms: a month
    of 12,000 questions in 8,000 topics took 35 s scored against every topic.
    """
    topics: list[Topic] = []
    cores: list[set[str]] = []  # each topic's frequent terms
    holding: dict[tuple[str, str], set[int]] = {}  # (language, term) -> topics it is core in
    for question in sorted(questions, key=lambda q: q.at):
        terms = _terms(question)
        lang = question.lang
        candidates = sorted(set().union(*(holding.get((lang, t), ()) for t in terms)))
        best, best_score = None, 0.0
        for number in candidates:
            core = cores[number]
            score = len(terms & core) / len(terms | core)
            if score > best_score:
                best, best_score = number, score
        if best is None or best_score < threshold:
            best = len(topics)
            topics.append(Topic())
            cores.append(set())
        topic = topics[best]
        topic.questions.append(question)
        topic.terms.update(terms)
        core = {t for t, n in topic.terms.items() if n * 2 >= len(topic.questions)} or set(
            topic.terms
        )
        for term in cores[best] - core:
            holding[(lang, term)].discard(best)
        for term in core - cores[best]:
            holding.setdefault((lang, term), set()).add(best)
        cores[best] = core
    return sorted(topics, key=lambda t: (t.latest, len(t.questions)), reverse=True)


class GapService:
    """Reads the questions the knowledge base could not answer from the conversations."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def report(self, days: int, now: datetime | None = None) -> dict[str, Any]:
        """The last `days` days' gap questions, grouped into topics (newest first)."""
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        questions = await self.questions(since)
        # analysing, grouping and rendering a busy month takes seconds: not on the thread
        # that serves every chat
        topics = await anyio.to_thread.run_sync(_topics, questions)
        return {"days": days, "questions": len(questions), "topics": topics}

    async def questions(self, since: datetime) -> list[GapQuestion]:
        """The customers' questions behind the bot's declines, low-confidence handoffs,
        offers of articles none of which was taken, answers marked unhelpful and answers
        followed by a request for a person, sent at or after `since`.

        Two kinds of read, whatever the period holds: the bot's replies that may be gaps,
        then the messages of their conversations (`TRANSCRIPTS_AT_ONCE` conversations a
        query), where each reply's question and what followed it are looked up.
        """
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
            transcripts = await _transcripts(session, {r.conversation_id for r in replies})
        asked: list[GapQuestion] = []
        for reply in replies:
            transcript = transcripts.get(reply.conversation_id, _Transcript([]))
            if reply.kind == "suggestions" and reply.helpful is not False:
                if not transcript.none_chosen(reply):
                    continue
                reply_reason = "none_chosen"
            elif reply.kind == "handoff" and reply.helpful is not False:
                if _misses(reply) >= 1:
                    reply_reason = "low_confidence"
                else:  # asked for a person (or upset): did an answer just fail them?
                    answer = transcript.answer_before(reply)
                    if answer is None:
                        continue
                    reply, reply_reason = answer, "person_after_answer"
            else:
                reply_reason = "unhelpful" if reply.helpful is False else "declined"
            question = transcript.question_of(reply)
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


#: conversations whose messages one query reads (bound parameters stay well under the
#: databases' limits)
TRANSCRIPTS_AT_ONCE = 500


async def _transcripts(session: AsyncSession, conversation_ids: set[int]) -> dict[int, _Transcript]:
    """The customers' and the bot's messages of each conversation, in order."""
    found: dict[int, list[Message]] = {}
    ids = sorted(conversation_ids)
    for start in range(0, len(ids), TRANSCRIPTS_AT_ONCE):
        rows = await session.scalars(
            select(Message)
            .where(
                Message.conversation_id.in_(ids[start : start + TRANSCRIPTS_AT_ONCE]),
                Message.role.in_(("customer", "bot")),
            )
            .order_by(Message.conversation_id, Message.seq)
        )
        for message in rows:
            found.setdefault(message.conversation_id, []).append(message)
    return {conversation_id: _Transcript(messages) for conversation_id, messages in found.items()}


@dataclass(frozen=True)
class _Transcript:
    """One conversation's customer and bot messages, in seq order."""

    messages: list[Message]

    def none_chosen(self, offer: Message) -> bool:
        """Whether the customer wrote again after the bot offered articles, without taking
        one of them (a customer who has not written since may still be reading them)."""
        after = next((m for m in self.messages if m.role == "customer" and m.seq > offer.seq), None)
        return after is not None and after.kind != "choice"

    def question_of(self, reply: Message) -> Message | None:
        """The customer message a bot reply answered (`meta.reply_to`)."""
        seq = (reply.meta or {}).get("reply_to")
        if not seq:
            return None
        return next((m for m in self.messages if m.seq == seq), None)

    def answer_before(self, handoff: Message) -> Message | None:
        """The bot's answer just before a handoff, when its last reply was one."""
        previous = [m for m in self.messages if m.role == "bot" and m.seq < handoff.seq]
        return previous[-1] if previous and previous[-1].kind == "answer" else None


def _misses(reply: Message) -> int:
    scores = (reply.meta or {}).get("scores") or {}
    return int(scores.get("consecutive_misses") or 0)


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
