"""Named locks: one holder at a time per key (a conversation, an agent)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class Locks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the lock named `key` for the context; others wait their turn."""
        ...


class InProcessLocks:
    """Locks of one server process; several servers also check in the database (row locks,
    and the conditional update that takes a message's seq: `conversations.transcript.take_seq`)."""

    def __init__(self) -> None:
        # a lock lives while someone holds or waits for it: none kept per past key
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield

    def __len__(self) -> int:
        """Locks held or awaited now."""
        return len(self._locks)
