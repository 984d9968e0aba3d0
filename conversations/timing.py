"""How long each step of a bot reply took, from the customer's message to the reply sent.

`ConversationService.receive` starts a `ReplyClock` when a chat message arrives; the
message's storing and the reply job mark each step's end on it, and once the reply is out
the steps are emitted as a `delivery.events.ReplyTimed` (on `/metrics`,
`kakehashi_reply_step_seconds`). Only chat messages received through `receive` are timed:
not a chosen article, a mail, or a reply found pending after a restart or left by another
server.

When the models' vectors of the message were ready is noted too
(`kakehashi_reply_models_seconds`), for the replies that come after them: a reply that
needs no search (small talk, asking for a person) can go out while the search's embedding
is still running, and then says nothing of the models.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

#: The steps, in the order they happen; each lasts from the previous one's end.
STEPS = (
    "stored",  # the customer's message committed (the models start meanwhile)
    "acknowledged",  # the stored message handed to delivery, the reply queued
    "queued",  # the reply job starts (after the conversation's earlier replies)
    "read",  # what the bot is told: the message's mark, the conversation's history
    "thought",  # the bot decides, in a worker thread (waiting for the models included)
    "settled",  # the reply stored, under the conversation's lock
    "sent",  # the reply handed to delivery (the websocket sends it from there)
)


class ReplyClock:
    """Marks the end of each step of one reply (`STEPS`), on a monotonic clock, and when
    the models' vectors of the message were ready (they run beside the first steps)."""

    __slots__ = ("_arrived", "_last", "models", "steps")

    def __init__(self) -> None:
        self._arrived = self._last = time.perf_counter()
        self.steps: list[tuple[str, float]] = []
        # seconds from the arrival; None: no model ran, or not all were done yet
        self.models: float | None = None

    def watch(self, vectors: Sequence[Future[Any]]) -> None:
        """Note when the last of `vectors` (the models started on the message) is done."""
        left = len(vectors)
        lock = threading.Lock()

        def done(_: Future[Any]) -> None:  # in a batcher's thread
            nonlocal left
            with lock:
                left -= 1
                if left == 0:
                    self.models = time.perf_counter() - self._arrived

        for vector in vectors:
            vector.add_done_callback(done)

    def mark(self, step: str) -> None:
        """Step `step` ends now: it lasted since the previous mark (or the arrival)."""
        now = time.perf_counter()
        self.steps.append((step, now - self._last))
        self._last = now
