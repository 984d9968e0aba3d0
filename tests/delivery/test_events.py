"""The bus: every listener hears every event in order; delivery puts each on its channel."""

from __future__ import annotations

import pytest

from delivery import channels
from delivery.events import (
    AgentsNotified,
    ConversationUpdated,
    DomainEvent,
    EventBus,
    NoteAdded,
    QueueChanged,
)
from delivery.hub import InProcessHub
from delivery.listeners import HubDelivery

pytestmark = pytest.mark.anyio


async def test_a_failing_listener_does_not_keep_events_from_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    heard: list[DomainEvent] = []

    async def broken(event: DomainEvent) -> None:
        raise RuntimeError("metrics are down")

    async def record(event: DomainEvent) -> None:
        heard.append(event)

    bus.listen(broken)
    bus.listen(record)
    first, second = (
        QueueChanged(),
        ConversationUpdated("c1", {"type": "typing", "role": "bot", "typing": True}),
    )
    await bus.emit(first, second)
    assert heard == [first, second]
    assert "metrics are down" in caplog.text


async def test_hub_delivery_sends_notes_to_agents_only_and_messages_to_everyone() -> None:
    hub = InProcessHub()
    bus = EventBus()
    bus.listen(HubDelivery(hub))
    note = {
        "type": "note",
        "conversation_id": "c1",
        "id": 1,
        "author": "Aiko",
        "text": "customer is a VIP",
        "created_at": "2026-11-30T00:00:00+00:00",
    }
    async with (
        hub.subscribe(channels.conversation("c1")) as customer,
        hub.subscribe(channels.notes("c1")) as notes,
        hub.subscribe(channels.AGENTS) as agents,
    ):
        await bus.emit(
            NoteAdded("c1", note),  # type: ignore[arg-type]
            ConversationUpdated("c1", {"type": "feedback", "seq": 2, "helpful": True}),
            AgentsNotified({"type": "queue_changed"}),
            QueueChanged(),  # for the queue's own listener, not a frame
        )
        assert customer.get_nowait()["type"] == "feedback"
        assert customer.empty()  # the note never reaches the customer
        assert notes.get_nowait()["text"] == "customer is a VIP"
        assert agents.get_nowait() == {"type": "queue_changed"}
        assert agents.empty()
