"""The in-process hub: what subscribers receive, and what a stuck one gets instead."""

from __future__ import annotations

import pytest

from delivery.hub import OVERFLOW, InProcessHub

pytestmark = pytest.mark.anyio


async def test_subscribers_get_the_events_of_their_channel_in_order() -> None:
    hub = InProcessHub()
    async with hub.subscribe("conversation:a") as a, hub.subscribe("conversation:b") as b:
        for n in range(3):
            await hub.publish("conversation:a", {"type": "message", "seq": n})
        await hub.publish("conversation:b", {"type": "typing"})
        assert [a.get_nowait()["seq"] for _ in range(3)] == [0, 1, 2]
        assert a.empty()
        assert b.get_nowait() == {"type": "typing"}


async def test_a_subscriber_gets_nothing_published_before_it_subscribed() -> None:
    hub = InProcessHub()
    await hub.publish("agents", {"type": "queue_changed"})
    async with hub.subscribe("agents") as queue:
        assert queue.empty()


async def test_a_reader_that_falls_behind_is_told_once_instead_of_stalling_others() -> None:
    hub = InProcessHub(max_pending=3)
    async with hub.subscribe("c") as slow, hub.subscribe("c") as fast:
        for n in range(5):
            await hub.publish("c", {"seq": n})
            fast.get_nowait()
        drained = [slow.get_nowait() for _ in range(slow.qsize())]
    assert {"type": OVERFLOW} in drained
    assert len(drained) <= 3


async def test_leaving_the_channel_forgets_it() -> None:
    hub = InProcessHub()
    async with hub.subscribe("c"):
        assert hub.subscribers("c") == 1
    assert hub.subscribers("c") == 0
    await hub.publish("c", {"type": "message"})  # nobody listens: nothing breaks
