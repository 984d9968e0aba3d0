"""Storing and reading a conversation's messages, in `seq` order.

Both sides of a conversation write through `append`: the customer, the bot, agents and
system notices share one gap-free sequence per conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.policy import Turn
from conversations import mailing
from conversations.errors import ConversationMoved
from conversations.frames import message_frame, with_files
from delivery.events import MessageFrame
from storage.models import Conversation, Message

HISTORY_TURNS = 20
#: tries of a read-then-write whose conversation moved in between (`append(state=...)`)
MOVED_ATTEMPTS = 3
T = TypeVar("T")


async def append(
    session: AsyncSession, conversation: Conversation, *, state: str | None = None, **fields: Any
) -> Message:
    """Insert a message with the conversation's next seq (atomic in the transaction).

    With `state` (what the caller read before its write transaction), only while the
    conversation is still in it, checked by the same statement that takes the seq.

    Raises:
        ConversationMoved: the conversation is in another state now.
    """
    guard = (Conversation.state == state,) if state is not None else ()
    seq = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation.id, *guard)
        .values(last_seq=Conversation.last_seq + 1, updated_at=datetime.now(UTC))
        .returning(Conversation.last_seq)
    )
    if seq is None and state is not None:
        raise ConversationMoved(f"conversation {conversation.public_id} is no longer {state}")
    assert seq is not None
    conversation.last_seq = seq
    fields.setdefault("citations", [])
    fields.setdefault("meta", {})
    message = Message(conversation_id=conversation.id, seq=seq, **fields)
    session.add(message)
    await session.flush()
    mail = mailing.outgoing(conversation, message)
    if mail is not None:  # in this transaction: the message and its mail, or neither
        session.add(mail)
    return message


async def until_unmoved(step: Callable[[], Awaitable[T]]) -> T:
    """Run `step` (reads, then a write that passes what it read as `append(state=...)`)
    again while its conversation moves between the two, at most `MOVED_ATTEMPTS` times."""
    for _ in range(MOVED_ATTEMPTS - 1):
        try:
            return await step()
        except ConversationMoved:
            continue
    return await step()


async def notice(
    session: AsyncSession, conversation: Conversation, key: str, **params: object
) -> Message:
    """Store a system notice (a `bot.messages` text in the conversation's language)."""
    return await append(
        session,
        conversation,
        role="system",
        kind="notice",
        lang=conversation.lang,
        text=messages.text(key, conversation.lang, **params),
    )


async def by_client_id(
    session: AsyncSession, conversation_id: int, client_id: str
) -> Message | None:
    """The message a client already sent with this id (a resend after a dropped link)."""
    message: Message | None = await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.client_id == client_id
        )
    )
    return message


async def offered(session: AsyncSession, conversation_id: int, article_id: str) -> str | None:
    """The title of `article_id` if the bot offered it as a choice in this conversation."""
    rows = await session.scalars(
        select(Message.citations).where(
            Message.conversation_id == conversation_id,
            Message.role == "bot",
            Message.kind == "suggestions",
        )
    )
    for citations in rows:
        for citation in citations or []:
            if citation.get("article_id") == article_id:
                return str(citation.get("title") or article_id)
    return None


async def frames_after(
    session: AsyncSession, conversation_id: int, last_seq: int
) -> list[MessageFrame]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > last_seq)
        .order_by(Message.seq)
    )
    return [message_frame(m) for m in rows]


async def history(session: AsyncSession, conversation_id: int, before_seq: int) -> list[Turn]:
    """The turns the bot sees when it answers the message `before_seq`."""
    # the columns the bot reads, not whole messages: a reply's meta holds its scores, and
    # loading twenty of them was most of a reply's database time
    files = Message.meta["attachments"]
    rows = (
        await session.execute(
            select(Message.role, Message.text, Message.kind, Message.helpful, files)
            .where(
                Message.conversation_id == conversation_id,
                # every earlier customer message, and every reply so far (replies to
                # messages sent before this one may have been stored after it)
                (Message.seq < before_seq) | (Message.role != "customer"),
            )
            .order_by(Message.seq.desc())
            .limit(HISTORY_TURNS)
        )
    ).all()
    # a file shows as its name: the bot sees that something was sent, not an empty turn
    return [
        Turn(role, with_files(text, {"attachments": attachments}), kind, helpful)
        for role, text, kind, helpful, attachments in reversed(rows)
    ]
