"""Moving a conversation from the bot to the queue of people."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from conversations import transcript
from conversations.opening import outside_hours
from conversations.ports import Availability, QueueInfo
from handoff.reasons import HandoffReason
from handoff.states import ConversationState, check_transition
from storage.models import Conversation, Handoff, Message


async def escalate(
    session: AsyncSession,
    conversation: Conversation,
    reason: HandoffReason,
    scores: dict[str, Any],
    seq: int | None,
    available: Availability,
) -> None:
    """Queue the conversation for a person and record why (in the caller's transaction)."""
    check_transition(ConversationState(conversation.state), ConversationState.WAITING)
    conversation.state = ConversationState.WAITING.value
    conversation.escalation_reason = reason.value
    conversation.escalation_scores = jsonable(scores)
    conversation.escalated_at = datetime.now(UTC)
    conversation.offline = available.offline
    session.add(
        Handoff(
            conversation_id=conversation.id,
            reason=reason.value,
            scores=jsonable(scores),
            message_seq=seq,
        )
    )
    await session.flush()


async def hand_off(
    session: AsyncSession,
    conversation: Conversation,
    queue: QueueInfo,
    reason: HandoffReason,
    notice_key: str,
    scores: dict[str, Any],
) -> Message:
    """The bot's handoff notice (`bot.messages[notice_key]`, with what happens when nobody
    can answer now) and the move to the queue, in the caller's transaction."""
    lang = conversation.lang
    available = await queue.availability()
    notice = await transcript.append(
        session,
        conversation,
        role="bot",
        kind="handoff",
        lang=lang,
        text=handoff_text(messages.text(notice_key, lang), lang, available),
    )
    await escalate(session, conversation, reason, scores, notice.seq, available)
    return notice


def handoff_text(text: str, lang: str, available: Availability) -> str:
    """The handoff notice, plus what happens when nobody can answer now."""
    if not available.is_open:
        return f"{text}\n\n{outside_hours(available, lang, datetime.now(UTC))}"
    if available.agents_online == 0:
        return f"{text}\n\n{messages.text('handoff_no_agent', lang)}"
    return text


def jsonable(value: Any) -> Any:
    """Scores as plain JSON (floats rounded, tuples to lists)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value
