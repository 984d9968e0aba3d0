"""Every server re-indexes an article changed through any of them."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio
import pytest

from delivery.events import EventBus
from delivery.hub import OVERFLOW, InProcessHub
from delivery.listeners import HubDelivery
from knowledge.reindex import Reindexer
from knowledge.sync import IndexSync
from retrieval.kb import Article

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.scheduled: list[str] = []
        self.resyncs = 0

    async def schedule(self, article_id: str) -> None:
        self.scheduled.append(article_id)

    async def resync(self) -> None:
        self.resyncs += 1

    async def settled(self, article_id: str, within: float) -> bool:
        return True


async def one_server(
    resync: Callable[[], Awaitable[None]] | None = None, **options: float
) -> tuple[InProcessHub, IndexSync, Recorder]:
    """One server's index sync on a hub of its own, listening; `resync` stands for the
    whole sync (the recorder counts it by default)."""
    hub = InProcessHub()
    bus = EventBus()
    bus.listen(HubDelivery(hub))
    index = Recorder()
    sync = IndexSync(bus, hub, index, resync or index.resync, **options)  # type: ignore[arg-type]
    await sync.start()
    return hub, sync, index


async def test_a_change_on_one_server_is_reindexed_on_the_others_once() -> None:
    hub = InProcessHub()  # stands for Redis: every server's events reach every server
    servers = []
    for _ in range(2):
        bus = EventBus()
        bus.listen(HubDelivery(hub))
        index = Recorder()
        sync = IndexSync(bus, hub, index, index.resync)  # type: ignore[arg-type]
        await sync.start()
        servers.append((sync, index))
    (a, a_index), (b, b_index) = servers
    await a.changed("returns")
    await anyio.sleep(0.05)
    assert a_index.scheduled == ["returns"]  # here, at once, and not again from the hub
    assert b_index.scheduled == ["returns"]
    await hub.publish("knowledge", {"type": OVERFLOW})  # b may have missed some: full sync
    await anyio.sleep(0.05)
    assert b_index.resyncs == 1
    await b.changed("shipping")
    await anyio.sleep(0.05)
    assert a_index.scheduled == ["returns", "shipping"]
    for sync, _ in servers:
        await sync.close()


async def test_closing_lets_a_whole_sync_under_way_finish() -> None:
    """A whole sync reads every article from the database; cut off halfway, that read
    could never be finished (aiosqlite), and the server could not stop."""
    hub = InProcessHub()
    bus = EventBus()
    bus.listen(HubDelivery(hub))
    started, finished = anyio.Event(), []

    async def slow_resync() -> None:
        started.set()
        await anyio.sleep(0.3)  # reading the published articles
        finished.append(True)

    sync = IndexSync(bus, hub, Recorder(), slow_resync)  # type: ignore[arg-type]
    await sync.start()
    await hub.publish("knowledge", {"type": OVERFLOW})
    with anyio.fail_after(5):
        await started.wait()
        await sync.close()
    assert finished == [True]


async def test_an_article_announced_during_a_whole_sync_is_indexed_after_it() -> None:
    """The whole sync puts back the articles as it read them when it began: an article
    changed meanwhile is re-indexed once it is done, not before and not never."""
    release = anyio.Event()
    started: list[bool] = []

    async def slow_resync() -> None:
        started.append(True)
        await release.wait()

    hub, sync, index = await one_server(slow_resync)
    await hub.publish("knowledge", {"type": OVERFLOW})
    await anyio.sleep(0.02)
    await hub.publish("knowledge", {"type": "article_changed", "article_id": "returns"})
    await hub.publish("knowledge", {"type": "article_changed", "article_id": "returns"})
    await anyio.sleep(0.05)
    assert started == [True] and index.scheduled == []  # still listening, holding it
    release.set()
    await anyio.sleep(0.05)
    assert index.scheduled == ["returns"]
    await hub.publish("knowledge", {"type": "article_changed", "article_id": "shipping"})
    await anyio.sleep(0.02)
    assert index.scheduled == ["returns", "shipping"]  # no sync under way: at once
    await sync.close()


async def test_while_redis_keeps_failing_whole_syncs_are_spaced_and_one_follows_the_last() -> None:
    times: list[float] = []

    async def resync() -> None:
        times.append(anyio.current_time())
        await anyio.sleep(0.05)

    hub, sync, _ = await one_server(resync, resync_every_seconds=0.2)
    for _ in range(10):  # the hub's retries every 20 ms while Redis is down
        await hub.publish("knowledge", {"type": OVERFLOW})
        await anyio.sleep(0.02)
    await anyio.sleep(0.6)
    assert len(times) == 2  # one at the first failure, one after the last
    assert times[1] - times[0] >= 0.2
    await sync.close()


async def test_closing_does_not_wait_out_the_pause_between_whole_syncs() -> None:
    hub, sync, index = await one_server(resync_every_seconds=60)
    await hub.publish("knowledge", {"type": OVERFLOW})
    await anyio.sleep(0.01)
    await hub.publish("knowledge", {"type": OVERFLOW})  # the next sync waits its turn
    await anyio.sleep(0.05)
    with anyio.fail_after(2):
        await sync.close()
    assert index.resyncs == 1


class SlowIndex:
    """An index whose upsert takes `seconds` (in its thread, as the real one's does)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.bodies: list[str] = []

    def upsert(self, article: Article) -> bool:
        time.sleep(self.seconds)
        self.bodies.append(article.body)
        return True

    def delete(self, article_id: str) -> bool:
        return True


async def published(article_id: str) -> Article:
    return Article(article_id, "Gift wrapping", "en", "Furoshiki wrapping costs 550 yen.")


async def test_a_change_returns_once_this_servers_bot_knows_it() -> None:
    """The editor who sees "published" and asks the bot at once gets the new answer,
    even when re-embedding is slow."""
    index = SlowIndex(0.3)
    bus, hub = EventBus(), InProcessHub()
    bus.listen(HubDelivery(hub))
    sync = IndexSync(bus, hub, Reindexer(index, published), _no_resync)
    await sync.start()
    await sync.changed("gift-wrapping")
    assert index.bodies == ["Furoshiki wrapping costs 550 yen."]
    await sync.close()


async def test_a_change_stuck_in_indexing_does_not_hold_the_editor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    index = SlowIndex(0.5)
    bus, hub = EventBus(), InProcessHub()
    bus.listen(HubDelivery(hub))
    reindexer = Reindexer(index, published)
    sync = IndexSync(bus, hub, reindexer, _no_resync, settle_seconds=0.1)
    await sync.start()
    with caplog.at_level(logging.WARNING, logger="knowledge.sync"), anyio.fail_after(0.4):
        await sync.changed("gift-wrapping")
    assert index.bodies == [] and "still being indexed" in caplog.text
    await reindexer.drain()  # it carried on in the background
    assert index.bodies == ["Furoshiki wrapping costs 550 yen."]
    await sync.close()


async def _no_resync() -> None:
    pass
