"""Every server's index in step: an article changed through one server is re-indexed by all.

The server where an editor publishes re-indexes at once and emits `ArticleChanged` (the
hub carries it to every server); the others hear it and re-index the same article from
the database. A server that may have missed announcements (its link to Redis broke)
syncs its whole index again.

Closing stops the listening, never a whole sync halfway: a database read cut off in the
middle cannot be finished (see `delivery.tasks`), so `close` waits for a sync under way
(for at most `LOOP_STOP_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from delivery import channels
from delivery.events import ArticleChanged, EventBus
from delivery.hub import OVERFLOW, Hub
from delivery.tasks import LOOP_STOP_SECONDS, stop
from knowledge.reindex import Reindexer

log = logging.getLogger(__name__)


class IndexSync:
    def __init__(
        self,
        bus: EventBus,
        hub: Hub,
        reindexer: Reindexer,
        resync: Callable[[], Awaitable[object]],
    ) -> None:
        self.bus = bus
        self.hub = hub
        self.reindexer = reindexer
        self.resync = resync
        self.origin = uuid.uuid4().hex
        self._listener: asyncio.Task[None] | None = None
        self._resyncing: asyncio.Task[None] | None = None

    async def changed(self, article_id: str) -> None:
        """An article changed here: re-index it here, and tell the other servers."""
        await self.reindexer.schedule(article_id)
        await self.announce(article_id)

    async def announce(self, article_id: str) -> None:
        """Tell the other servers only (this one indexes it by other means: a whole sync)."""
        await self.bus.emit(ArticleChanged(article_id, self.origin))

    async def start(self) -> None:
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready))
        await asyncio.wait_for(ready.wait(), 10)

    async def close(self) -> None:
        await stop(self._listener)
        resyncing = self._resyncing
        if resyncing is not None and not resyncing.done():
            await asyncio.wait({resyncing}, timeout=LOOP_STOP_SECONDS)
            if not await stop(resyncing, within=1.0):
                log.error("the index sync under way would not stop")

    async def _listen(self, ready: asyncio.Event) -> None:
        while True:
            async with self.hub.subscribe(channels.KNOWLEDGE) as queue:
                ready.set()
                while True:
                    event = await queue.get()
                    if event.get("type") == OVERFLOW:
                        break
                    if event.get("origin") != self.origin and event.get("article_id"):
                        await self.reindexer.schedule(str(event["article_id"]))
            # announcements may have been missed: sync the whole index, in a task of its
            # own that closing lets end (it is not cancelled with the listening)
            self._resyncing = asyncio.create_task(self._resync())
            await asyncio.shield(self._resyncing)

    async def _resync(self) -> None:
        try:
            await self.resync()
        except Exception:
            log.exception("re-syncing the index failed")
