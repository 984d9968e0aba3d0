"""Named locks: one holder per key, keys independent, nothing kept once released."""

from __future__ import annotations

import anyio
import pytest

from delivery.locks import InProcessLocks

pytestmark = pytest.mark.anyio


async def test_one_holder_at_a_time_per_key_while_other_keys_go_on() -> None:
    locks = InProcessLocks()
    order: list[str] = []

    async def hold(key: str, name: str, seconds: float) -> None:
        async with locks.hold(key):
            order.append(f"{name} in")
            await anyio.sleep(seconds)
            order.append(f"{name} out")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(hold, "conversation-1", "first", 0.05)
        await anyio.sleep(0.01)
        tasks.start_soon(hold, "conversation-1", "second", 0)
        tasks.start_soon(hold, "conversation-2", "other", 0)
    assert order.index("other in") < order.index("first out")  # not held up by another key
    assert order.index("first out") < order.index("second in")


async def test_a_released_lock_is_not_kept() -> None:
    locks = InProcessLocks()
    for n in range(50):
        async with locks.hold(f"conversation-{n}"):
            pass
    assert len(locks) == 0
