"""The customer's side of the end of a conversation: ending the chat, and rating it.

Ending works from every open state (bot, waiting, agent): the conversation closes with
the outcome `customer_ended`, the customer gets a notice and the closed `state` (which
asks for a rating, see `conversations.csat`), and an agent who had the conversation is
told.
"""

from __future__ import annotations

from datetime import UTC, datetime

from conversations import transcript
from conversations.csat import RATING_WINDOW, rated_frame, rating_open
from conversations.errors import ChatError
from conversations.frames import message_frame
from conversations.service import ConversationRef, ConversationService
from delivery.events import AgentsNotified, ConversationUpdated, DomainEvent, QueueChanged
from handoff.states import ConversationState, check_transition
from storage.models import Conversation

CUSTOMER_ENDED = "customer_ended"


async def end_chat(conversations: ConversationService, ref: ConversationRef) -> None:
    """The customer ends the chat; ending a closed conversation only repeats its state."""
    events: list[DomainEvent] = []
    async with conversations.locks.hold(ref.public_id), conversations.sessions.begin() as session:
        conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
        current = ConversationState(conversation.state)
        if current != ConversationState.CLOSED:
            check_transition(current, ConversationState.CLOSED)
            conversation.state = ConversationState.CLOSED.value
            conversation.closed_at = datetime.now(UTC)
            conversation.outcome = CUSTOMER_ENDED
            conversation.consecutive_misses = 0
            notice = await transcript.notice(session, conversation, CUSTOMER_ENDED)
            events.append(ConversationUpdated(ref.public_id, message_frame(notice)))
        state = await conversations.state_frame(session, conversation)
        events.append(ConversationUpdated(ref.public_id, state))
        if current == ConversationState.AGENT and conversation.agent_id is not None:
            ended = AgentsNotified(
                {
                    "type": "customer_ended",
                    "conversation_id": ref.public_id,
                    "user_id": conversation.agent_id,
                }
            )
            events.append(ended)
    if current != ConversationState.CLOSED:
        events.append(QueueChanged())
    await conversations.bus.emit(*events)


async def rate(
    conversations: ConversationService, ref: ConversationRef, score: int, comment: str | None
) -> None:
    """Store (or replace) the customer's rating; acknowledged by `rated` via the bus."""
    async with conversations.locks.hold(ref.public_id), conversations.sessions.begin() as session:
        conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
        if conversation.state != ConversationState.CLOSED:
            raise ChatError(
                "not_closed",
                "a conversation can be rated once it has ended: send 'end' first",
            )
        if not rating_open(conversation):
            hours = int(RATING_WINDOW.total_seconds() // 3600)
            raise ChatError(
                "rating_closed",
                f"a rating can be given or changed for {hours} hours after the conversation ended",
            )
        conversation.csat_score = score
        conversation.csat_comment = comment
        conversation.rated_at = datetime.now(UTC)
        frame = rated_frame(conversation)
    await conversations.bus.emit(ConversationUpdated(ref.public_id, frame))
