"""Live re-indexing: after an article changes, only its chunks are re-embedded, in the
background, so chats never wait for it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

from retrieval.kb import Article

log = logging.getLogger(__name__)

LoadArticle = Callable[[str], Awaitable[Article | None]]
"""Reads an article as the bot should know it: None when it is not (or no longer) published."""


class Index(Protocol):
    """What re-indexing needs of a retriever (`HybridRetriever` is one)."""

    def upsert(self, article: Article) -> object: ...

    def delete(self, article_id: str) -> object: ...


class Reindexer:
    """One background task per changed article; a newer change waits for the older one.

    Args:
        index: Where the chunks live; its (blocking) upsert and delete run in a thread.
        load: Reads the article's current published version (`knowledge.articles.load_published`).
    """

    def __init__(self, index: Index, load: LoadArticle) -> None:
        self.index = index
        self.load = load
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.last_seconds: float | None = None

    async def schedule(self, article_id: str) -> None:
        previous = self._tasks.get(article_id)
        self._tasks[article_id] = asyncio.create_task(self._run(article_id, previous))

    async def _run(self, article_id: str, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        started = time.perf_counter()
        try:
            article = await self.load(article_id)
            if article is not None:
                await anyio.to_thread.run_sync(self.index.upsert, article)
            else:
                await anyio.to_thread.run_sync(self.index.delete, article_id)
        except Exception:
            log.exception("re-indexing article %s failed", article_id)
        finally:
            self.last_seconds = time.perf_counter() - started
            if self._tasks.get(article_id) is asyncio.current_task():
                del self._tasks[article_id]

    async def settled(self, article_id: str, within: float) -> bool:
        """Wait (at most `within` seconds) until the article's latest change is indexed;
        False if it is still under way (it goes on in the background)."""
        task = self._tasks.get(article_id)
        if task is None:
            return True
        done, _ = await asyncio.wait({task}, timeout=within)
        return bool(done)

    async def drain(self) -> None:
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
