"""The reply work queue: in order per key, keys in parallel, a failure stops nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from delivery.work import InProcessReplyQueue

pytestmark = pytest.mark.anyio


async def test_jobs_of_one_key_run_in_the_order_submitted() -> None:
    work = InProcessReplyQueue()
    done: list[int] = []

    def job(n: int, seconds: float) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await anyio.sleep(seconds)
            done.append(n)

        return run

    work.submit("c", job(1, 0.03))
    work.submit("c", job(2, 0))
    work.submit("c", job(3, 0.01))
    await work.drain()
    assert done == [1, 2, 3]
    assert len(work) == 0  # the key's worker and queue are gone


async def test_a_slow_conversation_does_not_hold_up_another() -> None:
    work = InProcessReplyQueue()
    done: list[str] = []
    release = anyio.Event()

    async def slow() -> None:
        await release.wait()
        done.append("slow")

    async def quick() -> None:
        done.append("quick")
        release.set()

    work.submit("a", slow)
    work.submit("b", quick)
    await work.drain()
    assert done == ["quick", "slow"]


async def test_a_failing_job_does_not_stop_the_ones_after_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = InProcessReplyQueue()
    done: list[str] = []

    async def broken() -> None:
        raise RuntimeError("the model fell over")

    async def fine() -> None:
        done.append("answered")

    work.submit("c", broken)
    work.submit("c", fine)
    await work.drain()
    assert done == ["answered"]
    assert "reply job for c failed" in caplog.text
