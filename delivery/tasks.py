"""Stopping a background task for sure.

A library may swallow a cancellation that lands at the wrong moment: redis-py's asyncio
client does, now and then, when a task is cancelled in the middle of a command
(redis/redis-py#2028, #2551). The task then goes on to its next `await` as if nothing had
happened, and `task.cancel(); await task` waits for ever. `stop` cancels again until the
task has ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

RETRY_SECONDS = 0.1


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has ended, cancelling again if it carried on."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RETRY_SECONDS)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved
