"""In-process delivery of events to the websockets watching a conversation.

A subscriber gets every event published to its channel after it subscribed, in order.
The interface is small on purpose: a Redis-backed hub for several server processes has
the same two methods.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

Event = dict[str, Any]
OVERFLOW = "_overflow"


class Hub:
    """Channels (conversation ids, "queue") to the queues of their subscribers."""

    def __init__(self, max_pending: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)
        self._max_pending = max_pending

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._max_pending)
        self._subscribers[channel].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def publish(self, channel: str, event: Event) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            if queue.full():
                # A stuck reader must not stall everyone: drop what it has not read and
                # tell it so; it reconnects and replays from the database by seq.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait({"type": OVERFLOW})
                continue
            queue.put_nowait(event)

    def subscribers(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))
