"""The reply work queue: jobs run in order per key, keys independently of each other."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

Job = Callable[[], Awaitable[None]]
log = logging.getLogger(__name__)


class ReplyQueue(Protocol):
    def submit(self, key: str, job: Job) -> None:
        """Run `job` after every job submitted earlier for `key`; return at once."""
        ...

    async def drain(self) -> None:
        """Wait until no job is queued or running (at shutdown, and in tests)."""
        ...


class InProcessReplyQueue:
    """One worker task per key with jobs waiting; it ends when its key has none left."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Queue[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def submit(self, key: str, job: Job) -> None:
        self._pending.setdefault(key, asyncio.Queue()).put_nowait(job)
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key))

    async def _work(self, key: str) -> None:
        pending = self._pending[key]
        try:
            while not pending.empty():
                job = pending.get_nowait()
                try:
                    await job()
                except Exception:  # one failed job must not stop the ones queued after it
                    log.exception("reply job for %s failed", key)
        finally:  # no await since the loop's last check: nothing was queued meanwhile
            self._workers.pop(key, None)
            if pending.empty():
                self._pending.pop(key, None)

    async def drain(self) -> None:
        while pending := [task for task in self._workers.values() if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    def __len__(self) -> int:
        """Keys with jobs queued or running."""
        return len(self._pending)
