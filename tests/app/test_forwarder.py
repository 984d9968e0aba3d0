"""A socket's forwarder stops without cutting off the event in hand (a console's snapshot
read from the database), and never waits for ever for one that is stuck."""

from __future__ import annotations

import asyncio

import pytest

from app.routes._sockets import forwarder
from delivery.events import Frame

pytestmark = pytest.mark.anyio


async def test_closing_lets_the_event_in_hand_be_delivered_and_drops_the_rest() -> None:
    queue: asyncio.Queue[Frame] = asyncio.Queue()
    reading = asyncio.Event()
    delivered: list[str] = []

    async def deliver(event: Frame) -> bool:
        reading.set()
        await asyncio.sleep(0.2)  # the snapshot's database read
        delivered.append(event["type"])
        return True

    forwarding = forwarder(queue, deliver)
    queue.put_nowait({"type": "queue_changed"})
    queue.put_nowait({"type": "later"})
    await asyncio.wait_for(reading.wait(), 5)
    await asyncio.wait_for(forwarding.stop(), 5)
    assert delivered == ["queue_changed"]


async def test_an_idle_forwarder_stops_at_once_and_a_stuck_one_after_the_time_allowed() -> None:
    idle = forwarder(asyncio.Queue(), lambda event: asyncio.sleep(0, True))
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(idle.stop(), 5)
    assert loop.time() - started < 0.5

    queue: asyncio.Queue[Frame] = asyncio.Queue()
    in_hand = asyncio.Event()

    async def never_answers(event: Frame) -> bool:
        in_hand.set()
        await asyncio.Event().wait()
        return True

    stuck = forwarder(queue, never_answers)
    queue.put_nowait({"type": "queue_changed"})
    await asyncio.wait_for(in_hand.wait(), 5)
    started = loop.time()
    ended = await asyncio.wait_for(stuck.stop(within=0.3), 5)
    assert 0.3 <= loop.time() - started < 2
    assert ended and stuck.task.cancelled(), "cut off in the end, and ended"
