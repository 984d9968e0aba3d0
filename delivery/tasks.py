"""Stopping background work for sure, and a shutdown that always ends.

A library may swallow a cancellation that lands at the wrong moment: redis-py's asyncio
client does, now and then, when a task is cancelled in the middle of a command
(redis/redis-py#2028, #2551). The task then goes on to its next `await` as if nothing had
happened, and `task.cancel(); await task` waits for ever. `stop` cancels again until the
task has ended.

A task cancelled in the middle of its work can leave that work half done: a database read
cut off under SQLAlchemy + aiosqlite leaves its connection to be closed by a loop that is
gone, and the task can then outlive the shutdown (CI of 2026-12-02 hung on one: an agent
console's forwarder cancelled while it read a queue snapshot). A `Loop` is stopped only
while it waits for its next unit of work, never in the middle of one.

A shutdown step can also wait for something that never comes (a database driver's thread
that never answers). `shut_down` gives each step a time limit, says which one did not end,
and goes on with the next: a server that cannot stop is worse than one that leaves a step
behind (bot replies left unanswered are answered by the next start, see
`BotReplies.recover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.1

Step = tuple[str, Callable[[], Awaitable[object]]]
T = TypeVar("T")

# how long stopping a loop waits for the unit of work in hand before cutting it off
LOOP_STOP_SECONDS = 5.0


class Loop(Generic[T]):
    """A background task: `wait()` for the next thing, `work(thing)` on it, again.

    `stop()` lets the work in hand end (for at most `within` seconds) and cancels only the
    wait. `work` returning False ends the loop; an exception it lets out is logged and
    the loop goes on with the next thing.
    """

    def __init__(
        self,
        wait: Callable[[], Awaitable[T]],
        work: Callable[[T], Awaitable[bool | None]],
        what: str = "background work",
    ) -> None:
        self._wait = wait
        self._work = work
        self._what = what  # for the log: "<what> failed; going on"
        self._busy = False
        self._stopping = False
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping:
            thing = await self._wait()
            if self._stopping:
                return
            self._busy = True
            try:
                if await self._work(thing) is False:
                    return
            except Exception:
                log.exception("%s failed; going on", self._what)
            finally:
                self._busy = False

    async def stop(self, within: float = LOOP_STOP_SECONDS) -> bool:
        """Stop after the work in hand; whether the task ended (it is given up on after
        `within` seconds of work and one more of cancelling)."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self._busy and not self.task.done() and loop.time() < deadline:
            await asyncio.wait({self.task}, timeout=RETRY_SECONDS / 2)
        ended = await stop(self.task, within=1.0)
        if ended:
            # `wait` and `work` are usually its owner's methods, and the owner holds the
            # loop: a cycle. Ended, the loop lets go of them, so a closed chat is freed as
            # soon as it is dropped, not at the collector's next pass over older objects.
            self._wait = self._work = _stopped
        return ended


async def _stopped(*_: object) -> Any:
    raise RuntimeError("this loop has stopped")


async def stop(task: asyncio.Task[Any] | None, within: float | None = None) -> bool:
    """Cancel `task` and wait until it has ended, cancelling again if it carried on.

    With `within`, give up after that many seconds; returns whether the task ended.
    """
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = None if within is None else loop.time() + within
    while not task.done():
        if deadline is not None and loop.time() >= deadline:
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=RETRY_SECONDS)
    # Retrieved: asyncio does not log it as never retrieved, and a cancelled task hands
    # over the CancelledError it kept (dropped here: the task's own, not the caller's).
    # That error's traceback holds the task's last frame, whose `self` usually holds the
    # task: a cycle only the collector's rare full pass would free, with everything the
    # object held (a closed chat's socket, its session, its buffers: ~100 objects a chat).
    with contextlib.suppress(asyncio.CancelledError):
        task.exception()
    return True


async def shut_down(steps: Sequence[Step], within: float) -> list[str]:
    """Run each step in order, each for at most `within` seconds.

    A step that fails is logged and the next one runs; a step still running after
    `within` seconds is cancelled, logged, and left behind. Returns the names of the
    steps that did not end well.
    """
    left: list[str] = []
    for name, step in steps:
        task = asyncio.ensure_future(step())
        await asyncio.wait({task}, timeout=within)
        if not task.done():
            log.warning(
                "shutdown: %s did not end within %g s; left behind, waiting at:\n%s",
                name,
                within,
                awaiting(task),
            )
            await stop(task, within=1.0)
            left.append(name)
        elif not task.cancelled() and (exc := task.exception()) is not None:
            log.error("shutdown: %s failed", name, exc_info=exc)
            left.append(name)
    return left


async def stop_leftovers(packages: Collection[str], within: float) -> list[str]:
    """Stop the tasks still running that were started by code in `packages` (the last
    step of a shutdown, after each part stopped its own).

    What is left here was forgotten by its owner; left to the event loop's own close, it
    is cancelled once and waited for without end, and a task that swallows that
    cancellation keeps the process from ever exiting. Each is logged with where it waits,
    and stopped within `within` seconds. Returns their names.
    """
    current = asyncio.current_task()
    leftovers = [
        task
        for task in asyncio.all_tasks()
        if task is not current and not task.done() and _module(task) in packages
    ]
    names: list[str] = []
    for task in leftovers:
        where = awaiting(task)
        names.append(getattr(task.get_coro(), "__qualname__", repr(task)))
        log.warning("shutdown: a task was still running, stopped now; waiting at:\n%s", where)
    results = await asyncio.gather(*(stop(task, within) for task in leftovers))
    for task, ended in zip(leftovers, results, strict=True):
        if not ended:
            log.error("shutdown: a task would not stop:\n%s", awaiting(task))
    return names


def _module(task: asyncio.Task[Any]) -> str:
    """The top-level package of the code that started `task`."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    return str(frame.f_globals.get("__name__", "")).split(".")[0] if frame else ""


def awaiting(task: asyncio.Task[Any]) -> str:
    """Where a suspended task waits: its chain of awaits, outermost first."""
    lines: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:  # a future, or a coroutine that has ended
            lines.append(f"  {awaited!r:.200}")
            break
        code = frame.f_code
        lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return "\n".join(lines)
