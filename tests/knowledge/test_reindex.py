"""The re-indexer on its own: the latest published version reaches the index, in order."""

from __future__ import annotations

import logging
import threading

import anyio
import pytest

from knowledge.reindex import Reindexer
from retrieval.kb import Article

pytestmark = pytest.mark.anyio


class FakeIndex:
    """Records upserts and deletes (in a thread, as the real index runs them)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.threads: set[int] = set()

    def upsert(self, article: Article) -> bool:
        self.threads.add(threading.get_ident())
        self.calls.append(("upsert", article.body))
        return True

    def delete(self, article_id: str) -> bool:
        self.threads.add(threading.get_ident())
        self.calls.append(("delete", article_id))
        return True


def article(body: str) -> Article:
    return Article("returns", "Returns", "en", body)


async def test_changes_are_applied_in_order_off_the_event_loop() -> None:
    versions: list[Article | None] = [article("v1"), None, article("v3")]
    loaded: list[str] = []

    async def load(article_id: str) -> Article | None:
        loaded.append(article_id)
        await anyio.sleep(0.01)
        return versions.pop(0)

    index = FakeIndex()
    reindexer = Reindexer(index, load)
    for _ in range(3):
        await reindexer.schedule("returns")
    await reindexer.drain()
    assert index.calls == [("upsert", "v1"), ("delete", "returns"), ("upsert", "v3")]
    assert loaded == ["returns"] * 3
    assert threading.get_ident() not in index.threads
    assert reindexer.last_seconds is not None and reindexer._tasks == {}


async def test_a_failure_is_logged_and_the_next_change_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def load(article_id: str) -> Article | None:
        if article_id == "broken":
            raise RuntimeError("database went away")
        return article("ok")

    index = FakeIndex()
    reindexer = Reindexer(index, load)
    with caplog.at_level(logging.ERROR, logger="knowledge.reindex"):
        await reindexer.schedule("broken")
        await reindexer.schedule("returns")
        await reindexer.drain()
    assert index.calls == [("upsert", "ok")]
    assert "re-indexing article broken failed" in caplog.text
