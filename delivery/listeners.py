"""Listeners that deliver domain events to websockets through the hub."""

from __future__ import annotations

from delivery import channels
from delivery.events import (
    AgentsNotified,
    ArticleChanged,
    ConversationUpdated,
    DomainEvent,
    MailDelivery,
    NoteAdded,
)
from delivery.hub import Hub


class HubDelivery:
    """Each event onto the channel of the people who should see it."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def __call__(self, event: DomainEvent) -> None:
        if isinstance(event, ConversationUpdated):
            await self.hub.publish(channels.conversation(event.conversation_id), event.frame)
        elif isinstance(event, NoteAdded | MailDelivery):  # agents only
            await self.hub.publish(channels.notes(event.conversation_id), event.frame)
        elif isinstance(event, AgentsNotified):
            await self.hub.publish(channels.AGENTS, event.frame)
        elif isinstance(event, ArticleChanged):
            frame = {"type": "article_changed", "article_id": event.article_id}
            await self.hub.publish(channels.KNOWLEDGE, {**frame, "origin": event.origin})
