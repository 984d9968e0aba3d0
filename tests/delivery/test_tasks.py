"""Stopping a background loop whose library swallowed the cancellation (as redis-py's
asyncio client does now and then, mid-command): the server still shuts down."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from delivery.tasks import Loop, shut_down, stop

pytestmark = pytest.mark.anyio


async def test_a_loop_that_swallowed_its_cancellation_is_stopped_all_the_same() -> None:
    swallowed = 0
    rounds = 0

    async def sweep_forever() -> None:
        nonlocal swallowed, rounds
        while True:
            rounds += 1
            try:
                await asyncio.sleep(0.01)  # a command to a server
            except asyncio.CancelledError:
                if swallowed == 0:  # the library's bug: once, the cancellation is lost
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(sweep_forever())
    await asyncio.sleep(0.03)
    await asyncio.wait_for(stop(task), 5)
    assert task.cancelled() and swallowed == 1


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_collector")
async def test_a_stopped_loop_lets_go_of_what_it_held_at_once() -> None:
    """A server stops a loop for every chat that closes. What the loop held (the chat's
    socket, its session) goes when the chat does, not at the collector's next full pass,
    which a busy server makes rare: memory that grew for as long as a soak ran."""

    class Chat:  # holds its loop, whose work is the chat's method, as a chat session does
        def __init__(self) -> None:
            self.queue: asyncio.Queue[str] = asyncio.Queue()
            self.loop = Loop(self.queue.get, self.deliver, "delivering an event to a socket")

        async def deliver(self, event: str) -> None: ...

    chat = Chat()
    await chat.queue.put("a reply")
    await asyncio.sleep(0.01)
    held = weakref.ref(chat)
    await chat.loop.stop()
    del chat
    assert held() is None


async def test_stopping_a_task_that_failed_or_ended_returns_at_once() -> None:
    async def fail() -> None:
        raise RuntimeError("the loop had died already")

    failed = asyncio.create_task(fail())
    await asyncio.sleep(0)
    await stop(failed)
    await stop(None)
    assert isinstance(failed.exception(), RuntimeError)


async def test_a_shutdown_goes_past_a_step_that_hangs_or_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def hangs() -> None:
        ran.append("hangs")
        await asyncio.Event().wait()

    async def fails() -> None:
        ran.append("fails")
        raise RuntimeError("the hub was gone already")

    async def closes() -> None:
        ran.append("closes")

    left = await asyncio.wait_for(
        shut_down([("the queue", hangs), ("the hub", fails), ("the database", closes)], 0.2), 5
    )
    assert ran == ["hangs", "fails", "closes"]
    assert left == ["the queue", "the hub"]
    assert "shutdown: the queue did not end within 0.2 s; left behind" in caplog.text
    assert "test_tasks.py:" in caplog.text and "in hangs" in caplog.text  # where it waited
    assert "shutdown: the hub failed" in caplog.text


async def test_a_task_that_will_not_stop_is_given_up_after_the_time_allowed() -> None:
    stubborn = True

    async def sweep() -> None:
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                if not stubborn:
                    raise

    task = asyncio.create_task(sweep())
    await asyncio.sleep(0)
    assert await asyncio.wait_for(stop(task, within=0.3), 5) is False
    assert not task.done()
    stubborn = False  # (so that the test's own loop can end it)
    assert await stop(task) is True


async def test_a_loop_whose_work_fails_logs_it_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    done: list[int] = []

    async def work(n: int) -> None:
        if n == 1:
            raise ValueError("the snapshot could not be read")
        done.append(n)

    loop = Loop(queue.get, work, "reading the snapshot")
    for n in (1, 2):
        queue.put_nowait(n)
    async with asyncio.timeout(5):
        while not done:
            await asyncio.sleep(0.01)
    assert await loop.stop() is True
    assert done == [2]
    assert "reading the snapshot failed; going on" in caplog.text
    assert "ValueError: the snapshot could not be read" in caplog.text
