"""The rows the reports are computed from: plain SELECTs that SQLite and PostgreSQL share."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Conversation, Handoff, Message, User


def _seconds(since: datetime | None, until: datetime | None) -> float | None:
    """Seconds from `since` to `until`; None when either is missing or they are out of order
    (a conversation escalated again after it was claimed is still waiting)."""
    if since is None or until is None or until < since:
        return None
    return (until - since).total_seconds()


@dataclass(frozen=True)
class ConversationRow:
    created_at: datetime
    escalated_at: datetime | None
    claimed_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    agent_id: int | None
    outcome: str | None
    csat_score: int | None
    # the agents who wrote in it, the first responder to the latest claim first (the owner
    # if none wrote)
    agents: tuple[int, ...] = ()
    channel: str = "chat"  # how the customer wrote: the widget ("chat") or by mail ("email")

    @property
    def waited(self) -> float | None:
        """Seconds in the queue: escalated -> claimed."""
        return _seconds(self.escalated_at, self.claimed_at)

    @property
    def first_response(self) -> float | None:
        """Seconds from the claim (or the escalation, if never claimed) to the first reply."""
        return _seconds(self.claimed_at or self.escalated_at, self.first_response_at)


@dataclass(frozen=True)
class AnswerRow:
    helpful: bool | None
    citations: list[dict[str, Any]]


@dataclass(frozen=True)
class CommentRow:
    conversation_id: str
    score: int
    comment: str
    rated_at: datetime | None
    lang: str


def _started(start: datetime, end: datetime, lang: str | None) -> list[ColumnElement[bool]]:
    """Conversations that started in [start, end), in `lang` if given.

    One where the customer never wrote (the widget opened and closed again) is not one.
    """
    said = aliased(Message)  # apart from any Message the outer query reads
    wrote = select(said.id).where(said.conversation_id == Conversation.id, said.role == "customer")
    where = [
        Conversation.created_at >= start,
        Conversation.created_at < end,
        wrote.exists(),
    ]
    if lang is not None:
        where.append(Conversation.lang == lang)
    return where


async def conversation_rows(
    session: AsyncSession, start: datetime, end: datetime, lang: str | None
) -> list[ConversationRow]:
    query = select(
        Conversation.id,
        Conversation.created_at,
        Conversation.escalated_at,
        Conversation.claimed_at,
        Conversation.first_response_at,
        Conversation.closed_at,
        Conversation.agent_id,
        Conversation.outcome,
        Conversation.csat_score,
        Conversation.channel,
    ).where(*_started(start, end, lang))
    writers: dict[int, list[int]] = {}
    responders: dict[int, int] = {}  # who wrote first since the latest claim
    authors = (
        select(
            Message.conversation_id,
            Message.author_id,
            (Message.created_at >= Conversation.claimed_at).label("since_claim"),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(*_started(start, end, lang), Message.role == "agent", Message.author_id.is_not(None))
        .order_by(Message.conversation_id, Message.seq)
    )
    for conversation_id, author_id, since_claim in await session.execute(authors):
        seen = writers.setdefault(conversation_id, [])
        if author_id is not None and author_id not in seen:
            seen.append(author_id)
        if since_claim and author_id is not None:
            responders.setdefault(conversation_id, author_id)
    for conversation_id, responder in responders.items():  # the first responder first
        others = [a for a in writers[conversation_id] if a != responder]
        writers[conversation_id] = [responder, *others]
    return [
        ConversationRow(
            row.created_at,
            row.escalated_at,
            row.claimed_at,
            row.first_response_at,
            row.closed_at,
            row.agent_id,
            row.outcome,
            row.csat_score,
            tuple(writers.get(row.id) or ([row.agent_id] if row.agent_id is not None else [])),
            row.channel,
        )
        for row in await session.execute(query)
    ]


async def handoff_reasons(
    session: AsyncSession, start: datetime, end: datetime, lang: str | None
) -> dict[str, int]:
    """Handoffs of the period's conversations by reason (one conversation may have several)."""
    query = (
        select(Handoff.reason, func.count(Handoff.id))
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(*_started(start, end, lang))
        .group_by(Handoff.reason)
        .order_by(Handoff.reason)
    )
    return {reason: int(count) for reason, count in await session.execute(query)}


async def answer_rows(
    session: AsyncSession, start: datetime, end: datetime, lang: str | None
) -> list[AnswerRow]:
    """The bot's answers sent in [start, end), in conversations in `lang` if given."""
    query = (
        select(Message.helpful, Message.citations)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.role == "bot",
            Message.kind == "answer",
            Message.created_at >= start,
            Message.created_at < end,
        )
    )
    if lang is not None:
        query = query.where(Conversation.lang == lang)
    return [
        AnswerRow(helpful, [c for c in citations or [] if isinstance(c, dict)])
        for helpful, citations in await session.execute(query)
    ]


async def comment_rows(
    session: AsyncSession, start: datetime, end: datetime, lang: str | None, limit: int
) -> list[CommentRow]:
    """The latest ratings that came with a comment, newest first."""
    query = (
        select(
            Conversation.public_id,
            Conversation.csat_score,
            Conversation.csat_comment,
            Conversation.rated_at,
            Conversation.lang,
        )
        .where(
            *_started(start, end, lang),
            Conversation.csat_score.is_not(None),
            Conversation.csat_comment.is_not(None),
            Conversation.csat_comment != "",
        )
        .order_by(Conversation.rated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return [
        CommentRow(public_id, score or 0, comment or "", rated, lang)
        for public_id, score, comment, rated, lang in await session.execute(query)
    ]


async def user_names(session: AsyncSession, ids: Collection[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    query = select(User.id, User.display_name).where(User.id.in_(wanted))
    return {user_id: name for user_id, name in await session.execute(query)}
