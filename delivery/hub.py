"""Publish/subscribe of events on channels.

A subscriber gets every event published to its channel after it subscribed, in order.
A subscriber that falls `max_pending` events behind gets one `OVERFLOW` event instead of
what it missed: it reconnects and replays from the database by seq.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from delivery.events import Frame

OVERFLOW = "_overflow"


class Hub(Protocol):
    """Channels (see `delivery.channels`) to the queues of their subscribers."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[asyncio.Queue[Frame]]:
        """A queue that receives the channel's events while the context is open."""
        ...

    async def publish(self, channel: str, event: Frame) -> None:
        """Deliver an event to every current subscriber of the channel."""
        ...


class InProcessHub:
    """The hub of one server process."""

    def __init__(self, max_pending: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Frame]]] = defaultdict(set)
        self._max_pending = max_pending

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[Frame]]:
        queue: asyncio.Queue[Frame] = asyncio.Queue(self._max_pending)
        self._subscribers[channel].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def publish(self, channel: str, event: Frame) -> None:
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
