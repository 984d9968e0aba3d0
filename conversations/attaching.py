"""Messages with files: a customer's photo or PDF, or an agent's.

The files are checked and stored first (`attachments.Attachments.keep`: bytes under their
hash, nothing in the database yet); then the message, with the conversation's next seq,
and its `Attachment` rows are stored in one transaction, and its frame carries them
(`attachments`, docs/protocol.md). A resend with the same client_id stores nothing twice.

The bot cannot look at a photo or read a PDF. A customer who sends one while the bot has
the conversation needs a person to see it: the photo of a damaged or wrong item, a receipt,
an invoice. So the bot does not answer the file (it would answer nonsense); it says it
cannot look at files and hands the conversation to the team (reason `customer_request`,
via `attachment`), which sees the file first thing. While the conversation waits for a
person, or a person has it, the file just joins the transcript for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attachments.service import Attachments, StoredFile, Upload
from conversations import transcript
from conversations.errors import ChatError
from conversations.escalation import hand_off
from conversations.frames import message_frame
from conversations.service import ConversationRef, ConversationService
from delivery.events import ConversationUpdated, DomainEvent, MessageFrame, QueueChanged
from handoff.reasons import HandoffReason
from handoff.states import ConversationState
from storage.models import Conversation, Message

ACKNOWLEDGEMENT = "attachment_handoff"  # bot.messages: "I can't look at photos or documents…"


async def append_with_files(
    session: AsyncSession,
    conversation: Conversation,
    files: Sequence[StoredFile],
    **fields: Any,
) -> Message:
    """`transcript.append` a message that carries `files` (in the caller's transaction)."""
    meta = {**fields.pop("meta", {}), "attachments": [f.summary() for f in files]}
    message = await transcript.append(session, conversation, meta=meta, **fields)
    session.add_all(f.row(conversation.id, message.id) for f in files)
    return message


async def send_files(
    conversations: ConversationService,
    files: Attachments,
    ref: ConversationRef,
    client_id: str,
    text: str,
    uploads: Sequence[Upload],
) -> tuple[MessageFrame, bool]:
    """The customer sends files (and maybe a few words); the stored message's frame and
    whether it was a resend.

    Raises:
        AttachmentError: a file was refused (nothing is stored).
        ChatError: `conversation_closed`.
    """
    stored = await files.keep(uploads)
    events: list[DomainEvent] = []
    async with conversations.locks.hold(ref.public_id):
        async with conversations.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
            existing = await transcript.by_client_id(session, ref.id, client_id)
            if existing is not None:  # a resend: acknowledge again
                return message_frame(existing), True
            if conversation.state == ConversationState.CLOSED:
                raise ChatError(
                    "conversation_closed", "this conversation is closed: start a new one"
                )
            with_bot = conversation.state == ConversationState.BOT
            message = await append_with_files(
                session,
                conversation,
                stored,
                role="customer",
                kind="text",
                text=text,
                client_id=client_id,
            )
            frame = message_frame(message)
            events.append(ConversationUpdated(ref.public_id, frame))
            if with_bot:
                events += await _hand_over(conversations, session, conversation)
        # delivered under the lock, so a concurrent reply cannot overtake the notice
        await conversations.bus.emit(*events)
    # queued now (places move), or one more unanswered in a chat already queued or taken
    await conversations.bus.emit(QueueChanged(places=with_bot))
    return frame, False


async def _hand_over(
    conversations: ConversationService, session: AsyncSession, conversation: Conversation
) -> list[DomainEvent]:
    """The bot says it cannot look at files, and queues the conversation for a person."""
    notice = await hand_off(
        session,
        conversation,
        conversations.queue,
        HandoffReason.CUSTOMER_REQUEST,
        ACKNOWLEDGEMENT,
        {"via": "attachment"},
    )
    public_id = conversation.public_id
    return [
        ConversationUpdated(public_id, message_frame(notice)),
        ConversationUpdated(public_id, await conversations.state_frame(session, conversation)),
    ]
