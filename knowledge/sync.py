"""Every server's index in step: an article changed through one server is re-indexed by all.

The server where an editor publishes re-indexes at once (the editor's request returns when
its bot knows the change, or after `SETTLE_SECONDS`) and emits `ArticleChanged` (the
hub carries it to every server); the others hear it and re-index the same article from
the database. A server that may have missed announcements (its link to Redis broke: the
hub says `OVERFLOW`) syncs its whole index again, and keeps listening meanwhile: an
article announced during a whole sync is re-indexed after it (the sync read the articles
as they were when it began, and would put back what it read). While Redis stays down the
hub says `OVERFLOW` at every retry; whole syncs then run at most one per
`RESYNC_EVERY_SECONDS`, and always once after the last `OVERFLOW`.

Closing stops the listening, never a whole sync halfway: a database read cut off in the
middle cannot be finished (see `delivery.tasks`), so `close` waits for a sync under way
(for at most `LOOP_STOP_SECONDS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from delivery import channels
from delivery.events import ArticleChanged, EventBus
from delivery.hub import OVERFLOW, Hub
from delivery.tasks import LOOP_STOP_SECONDS, stop
from knowledge.reindex import Reindexer

log = logging.getLogger(__name__)

RESYNC_EVERY_SECONDS = 10.0
SETTLE_SECONDS = 10.0
"""How long a change waits for this server's index before it returns: an editor who sees
"published" can ask the bot at once (it usually takes well under a second)."""


class IndexSync:
    def __init__(
        self,
        bus: EventBus,
        hub: Hub,
        reindexer: Reindexer,
        resync: Callable[[], Awaitable[object]],
        *,
        resync_every_seconds: float = RESYNC_EVERY_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.bus = bus
        self.hub = hub
        self.reindexer = reindexer
        self.resync = resync
        self.resync_every_seconds = resync_every_seconds
        self.settle_seconds = settle_seconds
        self.origin = uuid.uuid4().hex
        self._listener: asyncio.Task[None] | None = None
        self._resyncing: asyncio.Task[None] | None = None
        self._again = False  # an OVERFLOW came that no whole sync has answered yet
        self._running = False  # a whole sync is reading and indexing
        self._last_start = float("-inf")
        self._held: dict[str, None] = {}  # announced during it, in order: indexed after
        self._closing = asyncio.Event()

    async def changed(self, article_id: str) -> None:
        """An article changed here: re-index it here, tell the other servers, and wait
        (at most `settle_seconds`) until this server's index has it."""
        await self.reindexer.schedule(article_id)
        await self.announce(article_id)
        if not await self.reindexer.settled(article_id, self.settle_seconds):
            log.warning(
                "article %s is still being indexed after %.0f s", article_id, self.settle_seconds
            )

    async def announce(self, article_id: str) -> None:
        """Tell the other servers only (this one indexes it by other means: a whole sync)."""
        await self.bus.emit(ArticleChanged(article_id, self.origin))

    async def start(self) -> None:
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready))
        await asyncio.wait_for(ready.wait(), 10)

    async def close(self) -> None:
        self._closing.set()  # a sync waiting for its turn does not run
        await stop(self._listener)
        resyncing = self._resyncing
        if resyncing is not None and not resyncing.done():
            await asyncio.wait({resyncing}, timeout=LOOP_STOP_SECONDS)
            if not await stop(resyncing, within=1.0):
                log.error("the index sync under way would not stop")

    async def _listen(self, ready: asyncio.Event) -> None:
        async with self.hub.subscribe(channels.KNOWLEDGE) as queue:
            ready.set()
            while True:
                event = await queue.get()
                if event.get("type") == OVERFLOW:
                    self._resync_soon()
                elif event.get("origin") != self.origin and event.get("article_id"):
                    article_id = str(event["article_id"])
                    if self._running:
                        self._held[article_id] = None
                    else:
                        await self.reindexer.schedule(article_id)

    def _resync_soon(self) -> None:
        """Announcements may have been missed: sync the whole index, in a task of its own
        that closing lets end (it is not cancelled with the listening)."""
        self._again = True
        if self._resyncing is None:
            self._resyncing = asyncio.create_task(self._resync())

    async def _resync(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._again:
                pause = self._last_start + self.resync_every_seconds - loop.time()
                if pause > 0:  # the hub is failing again and again: not more often than this
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), pause)
                if self._closing.is_set():
                    return
                self._again = False  # what comes from now on needs the next sync
                self._last_start = loop.time()
                self._running = True
                try:
                    await self.resync()
                except Exception:
                    log.exception("re-syncing the index failed")
                finally:
                    self._running = False
                    held, self._held = list(self._held), {}
                if not self._closing.is_set():
                    for article_id in held:
                        await self.reindexer.schedule(article_id)
        finally:
            self._resyncing = None
