"""Which agents are connected and available, with a grace period for reconnecting.

An agent's consoles (several tabs count once) make them present; when the last one
closes, the agent stays present for `grace_seconds` (a reload, a flaky network), then
the `on_absent` callback runs so their conversations go back to the queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

Status = Literal["online", "away"]
STATUSES: tuple[Status, ...] = ("online", "away")
AbsentCallback = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class AgentPresence:
    """One agent as the queue sees them."""

    user_id: int
    display_name: str
    max_open_chats: int
    status: Status = "online"
    connections: int = 0
    last_assigned: float = 0.0

    @property
    def available(self) -> bool:
        return self.connections > 0 and self.status == "online"

    @property
    def shown(self) -> str:
        """online, away or offline (no console open)."""
        return self.status if self.connections else "offline"


class PresenceStore(Protocol):
    async def connect(self, user_id: int, display_name: str, max_open_chats: int) -> AgentPresence:
        """A console opened; cancels a running grace period."""
        ...

    async def disconnect(self, user_id: int) -> None:
        """A console closed; the last one starts the grace period."""
        ...

    async def set_status(self, user_id: int, status: Status) -> None: ...

    async def assigned(self, user_id: int) -> None:
        """Note that the agent was just given a conversation (round robin)."""
        ...

    async def agents(self) -> list[AgentPresence]:
        """Every agent seen since the server started, connected or not."""
        ...

    async def close(self) -> None:
        """Stop the grace timers, and wait for the requeues under way (at shutdown)."""
        ...


@dataclass
class _Entry:
    presence: AgentPresence
    grace: asyncio.Task[None] | None = field(default=None, repr=False)


class InProcessPresence:
    """Presence kept in this server's memory."""

    def __init__(self, grace_seconds: float, on_absent: AbsentCallback) -> None:
        self.grace_seconds = grace_seconds
        self.on_absent = on_absent
        self._entries: dict[int, _Entry] = {}
        self._absent: set[asyncio.Task[None]] = set()  # grace over: requeueing now

    async def connect(self, user_id: int, display_name: str, max_open_chats: int) -> AgentPresence:
        entry = self._entries.get(user_id)
        if entry is None:
            entry = self._entries[user_id] = _Entry(
                AgentPresence(user_id, display_name, max_open_chats)
            )
        if entry.grace is not None:
            entry.grace.cancel()
            entry.grace = None
        entry.presence = replace(
            entry.presence, connections=entry.presence.connections + 1, status="online"
        )
        return entry.presence

    async def disconnect(self, user_id: int) -> None:
        entry = self._entries.get(user_id)
        if entry is None:
            return
        connections = max(0, entry.presence.connections - 1)
        entry.presence = replace(entry.presence, connections=connections)
        if connections == 0:
            entry.grace = asyncio.create_task(self._grace(user_id))

    async def _grace(self, user_id: int) -> None:
        await asyncio.sleep(self.grace_seconds)
        entry = self._entries.get(user_id)
        if entry is None or entry.presence.connections:
            return
        # from here on it is not cancelled (a reconnect leaves it be, a shutdown waits for
        # it): the requeue is one transaction, never cut off halfway
        entry.grace = None
        task = asyncio.current_task()
        assert task is not None
        self._absent.add(task)
        try:
            await self.on_absent(user_id)
        finally:
            self._absent.discard(task)

    async def set_status(self, user_id: int, status: Status) -> None:
        entry = self._entries[user_id]
        entry.presence = replace(entry.presence, status=status)

    async def assigned(self, user_id: int) -> None:
        entry = self._entries[user_id]
        entry.presence = replace(entry.presence, last_assigned=time.monotonic())

    async def agents(self) -> list[AgentPresence]:
        return [entry.presence for entry in self._entries.values()]

    async def close(self) -> None:
        for entry in self._entries.values():
            if entry.grace is not None:
                entry.grace.cancel()
        # requeues under way end first (waited for, not cancelled if this wait is)
        if self._absent:
            await asyncio.wait(set(self._absent))
