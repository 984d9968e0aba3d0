"""The customer's side of the end of a conversation: ending the chat, and rating it.

Ending works from every open state (bot, waiting, agent): the conversation closes with
the outcome `customer_ended`, the customer gets a notice and the closed `state` (which
asks for a rating, see `app.csat`), and an agent who had the conversation is told.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.agents import AGENTS_CHANNEL
from app.conversations import ChatError, ConversationRef, ConversationService
from app.csat import RATING_WINDOW, rated_event, rating_open
from app.events import Event, message_event
from handoff.states import ConversationState, check_transition
from storage.models import Conversation

CUSTOMER_ENDED = "customer_ended"


async def end_chat(conversations: ConversationService, ref: ConversationRef) -> None:
    """The customer ends the chat; ending a closed conversation only repeats its state."""
    agent_id = None
    async with conversations.lock_for(ref.public_id), conversations.sessions.begin() as session:
        conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
        current = ConversationState(conversation.state)
        events: list[Event] = []
        if current != ConversationState.CLOSED:
            check_transition(current, ConversationState.CLOSED)
            if current == ConversationState.AGENT:
                agent_id = conversation.agent_id
            conversation.state = ConversationState.CLOSED.value
            conversation.closed_at = datetime.now(UTC)
            conversation.outcome = CUSTOMER_ENDED
            conversation.consecutive_misses = 0
            notice = await conversations.notice(session, conversation, CUSTOMER_ENDED)
            events.append(message_event(notice))
        events.append(await conversations.state_event(session, conversation))
    for event in events:
        await conversations.hub.publish(ref.channel, event)
    if current == ConversationState.CLOSED:
        return
    if agent_id is not None:
        await conversations.hub.publish(
            AGENTS_CHANNEL,
            {"type": CUSTOMER_ENDED, "conversation_id": ref.public_id, "user_id": agent_id},
        )
    if conversations.queue_changed is not None:
        await conversations.queue_changed()


async def rate(
    conversations: ConversationService, ref: ConversationRef, score: int, comment: str | None
) -> None:
    """Store (or replace) the customer's rating; acknowledged by `rated` via the hub."""
    async with conversations.lock_for(ref.public_id), conversations.sessions.begin() as session:
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
        event = rated_event(conversation)
    await conversations.hub.publish(ref.channel, event)
