"""Presence: tabs count once, away is not available, the grace period, then absent."""

from __future__ import annotations

import anyio
import pytest

from delivery.presence import InProcessPresence

pytestmark = pytest.mark.anyio


async def test_an_agent_is_available_while_a_console_is_open_and_online() -> None:
    absent: list[int] = []
    presence = InProcessPresence(60, on_absent=lambda uid: _record(absent, uid))
    await presence.connect(7, "Aiko", 3)
    await presence.connect(7, "Aiko", 3)  # a second tab
    await presence.disconnect(7)
    (aiko,) = await presence.agents()
    assert (aiko.available, aiko.shown) == (True, "online")
    await presence.set_status(7, "away")
    (aiko,) = await presence.agents()
    assert (aiko.available, aiko.shown) == (False, "away")
    await presence.close()
    assert absent == []


async def test_an_agent_who_does_not_come_back_within_the_grace_period_is_absent() -> None:
    absent: list[int] = []
    presence = InProcessPresence(0.05, on_absent=lambda uid: _record(absent, uid))
    await presence.connect(7, "Aiko", 3)
    await presence.disconnect(7)
    (aiko,) = await presence.agents()
    assert aiko.shown == "offline"
    await anyio.sleep(0.2)
    assert absent == [7]


async def test_coming_back_within_the_grace_period_keeps_the_agent() -> None:
    absent: list[int] = []
    presence = InProcessPresence(0.05, on_absent=lambda uid: _record(absent, uid))
    await presence.connect(7, "Aiko", 3)
    await presence.disconnect(7)
    await presence.connect(7, "Aiko", 3)  # a reload
    await anyio.sleep(0.2)
    assert absent == []
    await presence.close()


async def _record(into: list[int], user_id: int) -> None:
    into.append(user_id)


async def test_a_shutdown_waits_for_the_requeue_of_an_agent_whose_grace_ended() -> None:
    started, requeued = anyio.Event(), []

    async def requeue(uid: int) -> None:  # one transaction: their chats back to the queue
        started.set()
        await anyio.sleep(0.2)
        requeued.append(uid)

    presence = InProcessPresence(0.01, on_absent=requeue)
    await presence.connect(7, "Aiko", 3)
    await presence.disconnect(7)
    with anyio.fail_after(5):
        await started.wait()
        await presence.close()
    assert requeued == [7], "the requeue under way was not cut off"
