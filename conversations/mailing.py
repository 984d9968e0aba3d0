"""Which messages of a conversation also go out by e-mail.

The outgoing mail is written to the outbox (a `MailMessage` row, status `pending`) in the
transaction that stores the message, so a crash cannot lose it and a rollback cannot send
it; `mail.outbox` sends it later, with retries. Internal notes are not messages, and
system notices stay in the widget: neither ever goes out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.policy import Decision, DecisionKind
from handoff.reasons import HandoffReason
from storage.models import Conversation, MailMessage, Message

EMAIL = "email"
CHAT = "chat"

# The outbox's status as agents see it next to a message: waiting to go, gone, refused.
SHOWN_STATUS = {"pending": "queued", "sent": "sent", "failed": "failed"}

# What the bot says by mail: an answer with its sources, or that a person will write back.
# Small talk ("thanks!") gets no mail: two polite parties would never stop.
MAILED_BOT_KINDS = frozenset({DecisionKind.ANSWER.value, DecisionKind.HANDOFF.value})


def recipient(conversation: Conversation, message: Message) -> str | None:
    """The address this message is mailed to, or None when it stays in the transcript."""
    if conversation.channel == EMAIL:
        if message.role == "agent" or (message.role == "bot" and message.kind in MAILED_BOT_KINDS):
            return conversation.customer_email
        return None
    # A chat whose customer left an address (the offline contact form) gets the agents'
    # replies by mail too, with a link back into the chat: the customer has gone.
    if message.role == "agent" and conversation.contact_email:
        return conversation.contact_email
    return None


def outgoing(conversation: Conversation, message: Message) -> MailMessage | None:
    """The outbox row for `message`, if it goes out by mail."""
    address = recipient(conversation, message)
    if address is None:
        return None
    return MailMessage(
        direction="out",
        conversation_id=conversation.id,
        chat_message_id=message.id,
        address=address,
        subject="",
        status="pending",
        attempts=0,
        next_attempt_at=datetime.now(UTC),
    )


def for_channel(channel: str, decision: Decision) -> Decision:
    """The bot's decision as the conversation's channel can carry it.

    By mail there are no choices to tap and no "talk to a person" button: what the bot
    would not answer with confidence goes to a person, who replies by mail.
    """
    if channel != EMAIL or decision.kind not in (
        DecisionKind.SUGGEST,
        DecisionKind.DECLINE,
    ):
        return decision
    return Decision(
        DecisionKind.HANDOFF,
        decision.lang,
        messages.text(f"handoff_{HandoffReason.LOW_CONFIDENCE.value}", decision.lang),
        confidence=decision.confidence,
        handoff_reason=HandoffReason.LOW_CONFIDENCE,
        frustration=decision.frustration,
        scores={**decision.scores, "channel": EMAIL, "was": decision.kind.value},
    )


async def deliveries(session: AsyncSession, conversation_id: int) -> dict[int, dict[str, str]]:
    """The delivery state of each mailed message of a conversation, by message id."""
    rows = await session.execute(
        select(MailMessage.chat_message_id, MailMessage.status, MailMessage.address).where(
            MailMessage.conversation_id == conversation_id,
            MailMessage.direction == "out",
            MailMessage.chat_message_id.is_not(None),
        )
    )
    return {
        message_id: {"status": SHOWN_STATUS.get(status, status), "address": address}
        for message_id, status, address in rows
        if message_id is not None
    }
