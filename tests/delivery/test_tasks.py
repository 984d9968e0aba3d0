"""Stopping a background loop whose library swallowed the cancellation (as redis-py's
asyncio client does now and then, mid-command): the server still shuts down."""

from __future__ import annotations

import asyncio

import pytest

from delivery.tasks import stop

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


async def test_stopping_a_task_that_failed_or_ended_returns_at_once() -> None:
    async def fail() -> None:
        raise RuntimeError("the loop had died already")

    failed = asyncio.create_task(fail())
    await asyncio.sleep(0)
    await stop(failed)
    await stop(None)
    assert isinstance(failed.exception(), RuntimeError)
