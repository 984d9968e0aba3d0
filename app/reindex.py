"""Live re-indexing: after an article changes, only its chunks are re-embedded, in the
background, so chats never wait for it."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import anyio

from retrieval.hybrid import HybridRetriever

if TYPE_CHECKING:
    from app.articles import ArticleService

log = logging.getLogger(__name__)


class Reindexer:
    """One background task per changed article; a newer change waits for the older one."""

    def __init__(self, retriever: HybridRetriever) -> None:
        self.retriever = retriever
        self.articles: ArticleService | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.last_seconds: float | None = None

    async def schedule(self, article_id: str) -> None:
        previous = self._tasks.get(article_id)
        self._tasks[article_id] = asyncio.create_task(self._run(article_id, previous))

    async def _run(self, article_id: str, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        assert self.articles is not None
        started = time.perf_counter()
        try:
            record = await self.articles.get(article_id)
            from app.articles import to_article

            if record.status == "published":
                await anyio.to_thread.run_sync(self.retriever.upsert, to_article(record))
            else:
                await anyio.to_thread.run_sync(self.retriever.delete, article_id)
        except Exception:
            log.exception("re-indexing article %s failed", article_id)
        finally:
            self.last_seconds = time.perf_counter() - started
            if self._tasks.get(article_id) is asyncio.current_task():
                del self._tasks[article_id]

    async def drain(self) -> None:
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
