"""Every server re-indexes an article changed through any of them."""

from __future__ import annotations

import anyio
import pytest

from delivery.events import EventBus
from delivery.hub import OVERFLOW, InProcessHub
from delivery.listeners import HubDelivery
from knowledge.sync import IndexSync

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.scheduled: list[str] = []
        self.resyncs = 0

    async def schedule(self, article_id: str) -> None:
        self.scheduled.append(article_id)

    async def resync(self) -> None:
        self.resyncs += 1


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
