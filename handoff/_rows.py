"""Queries the agents' side shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.errors import ChatError
from conversations.frames import with_files
from handoff.queue import BASE_PRIORITY, DEFAULT_BASE_PRIORITY
from handoff.reasons import HandoffReason
from handoff.states import ConversationState
from storage.models import Conversation, Message


async def by_public_id(session: AsyncSession, public_id: str, lock: bool = False) -> Conversation:
    query = select(Conversation).where(Conversation.public_id == public_id)
    if lock:
        query = query.with_for_update()
    conversation = await session.scalar(query)
    if conversation is None:
        raise ChatError("unknown_conversation", f"no conversation {public_id!r}")
    return conversation


async def waiting_among(session: AsyncSession, public_ids: list[str]) -> list[Conversation]:
    """Those of `public_ids` still waiting (the first of the queue, for a console)."""
    if not public_ids:
        return []
    return list(
        await session.scalars(
            select(Conversation).where(
                Conversation.public_id.in_(public_ids),
                Conversation.state == ConversationState.WAITING.value,
            )
        )
    )


async def queue_keys(session: AsyncSession) -> list[tuple[str, str | None, datetime | None]]:
    """(public id, reason, escalated at) of every waiting conversation: what the queue's
    order needs, without loading whole conversations."""
    rows = await session.execute(
        select(
            Conversation.public_id, Conversation.escalation_reason, Conversation.escalated_at
        ).where(Conversation.state == ConversationState.WAITING.value)
    )
    return [(public_id, reason, at) for public_id, reason, at in rows]


async def waiting_ahead(
    session: AsyncSession,
    public_id: str,
    cutoffs: dict[float, datetime | bool],
    now: datetime,
) -> int:
    """How many waiting conversations come before `public_id`, from `queue.served_before`'s
    cutoffs: one count in the database, however long the queue (read as `queue_keys` and
    `Lineup._ordered` read it: no reason is a customer's request, no time is now)."""
    reason, at = Conversation.escalation_reason, Conversation.escalated_at
    unnamed = BASE_PRIORITY.get(HandoffReason.CUSTOMER_REQUEST, DEFAULT_BASE_PRIORITY)
    groups: list[ColumnElement[bool]] = []
    for base, cutoff in cutoffs.items():
        if cutoff is False:
            continue
        named = [r for r, b in BASE_PRIORITY.items() if b == base]
        of_base: list[ColumnElement[bool]] = [reason.in_(named)] if named else []
        if base == DEFAULT_BASE_PRIORITY:
            of_base.append(reason.not_in(list(BASE_PRIORITY)))
        if base == unnamed:
            of_base.append(reason.is_(None))
        if cutoff is True:
            earlier: ColumnElement[bool] = true()
        else:
            earlier = or_(at < cutoff, at.is_(None) if now < cutoff else false())
        groups.append(and_(or_(*of_base), earlier))
    if not groups:
        return 0
    count = await session.scalar(
        select(func.count()).where(
            Conversation.state == ConversationState.WAITING.value,
            Conversation.public_id != public_id,
            or_(*groups),
        )
    )
    return int(count or 0)


async def owned_by(session: AsyncSession, user_id: int) -> list[Conversation]:
    """The conversations an agent has now."""
    return list(
        await session.scalars(
            select(Conversation).where(
                Conversation.agent_id == user_id,
                Conversation.state == ConversationState.AGENT.value,
            )
        )
    )


async def open_chats_by_agent(session: AsyncSession) -> dict[int, int]:
    """How many conversations each agent has now (agents with none left out)."""
    rows = await session.execute(
        select(Conversation.agent_id, func.count())
        .where(Conversation.state == ConversationState.AGENT.value)
        .group_by(Conversation.agent_id)
    )
    return {agent_id: count for agent_id, count in rows if agent_id is not None}


async def open_chats(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.agent_id == user_id,
                Conversation.state == ConversationState.AGENT.value,
            )
        )
        or 0
    )


async def unanswered(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    """Customer messages since the agent's last reply (or since the claim, before one)."""
    if not ids:
        return {}
    replied = (
        select(Message.conversation_id, func.max(Message.seq).label("seq"))
        .where(Message.conversation_id.in_(ids), Message.role == "agent")
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = await session.execute(
        select(Message.conversation_id, func.count())
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(replied, replied.c.conversation_id == Message.conversation_id)
        .where(
            Message.conversation_id.in_(ids),
            Message.role == "customer",
            Message.seq > func.coalesce(replied.c.seq, 0),
            Message.created_at >= Conversation.claimed_at,
        )
        .group_by(Message.conversation_id)
    )
    return {cid: int(count) for cid, count in rows.all()}


async def previews(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """The latest customer message of each conversation, shortened."""
    if not ids:
        return {}
    latest = (
        select(Message.conversation_id, func.max(Message.seq).label("seq"))
        .where(Message.conversation_id.in_(ids), Message.role == "customer")
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = await session.execute(
        select(Message.conversation_id, Message.text, Message.meta).join(
            latest,
            (Message.conversation_id == latest.c.conversation_id) & (Message.seq == latest.c.seq),
        )
    )
    return {cid: with_files(text, meta)[:140] for cid, text, meta in rows.all()}
