"""Query vectors for many callers at once: an LRU of recent questions and a micro-batcher.

Replies run in worker threads, several at a time. Each used to call the model itself:
the calls queued behind one another (or fought over the CPU's threads), and a question
asked twice was encoded twice. Here every caller hands its text to one worker thread,
which waits a few milliseconds for other callers, encodes them all in one model call
and hands each its row; a question seen recently is answered from the cache at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from functools import partial
from queue import Empty, SimpleQueue
from typing import Generic, TypeVar

import numpy as np

from retrieval.errors import RetrievalError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

EncodeBatch = Callable[[list[str]], np.ndarray]


class BatcherClosed(RetrievalError):
    """The batcher was closed: the process is shutting down."""


class LRUCache(Generic[K, V]):
    """A thread-safe mapping that forgets the least recently used entry past `maxsize`."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError(f"an LRU cache holds 0 or more entries, not {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether `key` is held (neither a hit nor a miss, and not made recent)."""
        with self._lock:
            return key in self._data

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: K, value: V) -> None:
        if self.maxsize == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_STOP = object()
IDLE_SECONDS = 30.0  # a worker with nothing to do for this long ends (a new one starts on demand)
CONCURRENT_SECONDS = 1.0  # how long one sign of concurrent callers keeps the window open


class MicroBatcher:
    """Runs concurrent `encode` calls of one text each as one call over all of them.

    One worker thread (started on first use) takes the first waiting text, waits up to
    `window_ms` for more (never past `max_batch`), encodes them together and resolves
    each caller's future with its row. Texts that arrive while the model runs wait for
    the next call, so under load batches form with no window at all; at rest a lone
    question pays at most the window. A failed call fails every caller of that batch.
    """

    def __init__(
        self,
        encode: EncodeBatch,
        *,
        window_ms: float = 2.0,
        max_batch: int = 32,
        name: str = "embedding",
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"a batch holds at least one text, not {max_batch}")
        self.encode = encode
        self.window = max(window_ms, 0.0) / 1000
        self.max_batch = max_batch
        self.name = name
        self.calls = 0  # model calls made, for measurements
        self._queue: SimpleQueue[object] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._concurrent_at = -CONCURRENT_SECONDS  # when callers last came together

    def submit(self, text: str) -> Future[np.ndarray]:
        """The future vector of one text.

        Raises:
            BatcherClosed: `close` was called.
        """
        future: Future[np.ndarray] = Future()
        with self._lock:
            if self._closed:
                raise BatcherClosed(f"the {self.name} batcher is closed: no more queries")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"kakehashi-{self.name}-batcher", daemon=True
                )
                self._thread.start()
            self._queue.put((text, future))
        return future

    def __call__(self, text: str) -> np.ndarray:
        """One text's vector (blocks until its batch is encoded)."""
        return self.submit(text).result()

    def close(self, timeout: float = 5.0) -> None:
        """Refuse new texts, let the worker finish what it has, and stop it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except Empty:
                with self._lock:  # submit puts under this lock: nothing can slip past
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            if first is _STOP:
                break
            batch = [first]
            stop = self._gather(batch)
            self._encode_batch(batch)  # type: ignore[arg-type]
            if len(batch) > 1 or not self._queue.empty():
                self._concurrent_at = time.monotonic()
            if stop:
                break
        self._fail_leftovers()

    def _gather(self, batch: list[object]) -> bool:
        """Add what arrives within the window to `batch`; True when asked to stop.

        The window is only waited for while callers have lately come together: one
        caller at a time (a test, a quiet server) never waits for company.
        """
        together = time.monotonic() - self._concurrent_at < CONCURRENT_SECONDS
        deadline = time.monotonic() + (self.window if together else 0.0)
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
        return False

    def _encode_batch(self, batch: list[tuple[str, Future[np.ndarray]]]) -> None:
        live = [(text, f) for text, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        texts = list(dict.fromkeys(text for text, _ in live))  # one row per distinct text
        try:
            self.calls += 1
            vectors = np.asarray(self.encode(texts), dtype=np.float32)
            if vectors.shape[0] != len(texts):
                raise RetrievalError(
                    f"the {self.name} model returned {vectors.shape[0]} vectors "
                    f"for {len(texts)} texts"
                )
        except BaseException as exc:  # every caller of the batch hears of it
            for _, future in live:
                future.set_exception(exc)
            return
        rows = {text: vectors[i].copy() for i, text in enumerate(texts)}
        for vector in rows.values():
            # a row of its own: a vector kept in a cache never keeps its whole batch alive;
            # read-only, as every caller of the same text shares it
            vector.setflags(write=False)
        for text, future in live:
            future.set_result(rows[text])

    def _fail_leftovers(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except Empty:
                return
            if item is not _STOP:
                future: Future[np.ndarray] = item[1]  # type: ignore[index]
                if future.set_running_or_notify_cancel():
                    future.set_exception(BatcherClosed(f"the {self.name} batcher is closed"))


def normalise_query(text: str) -> str:
    """The cache key of a question: the same words with the same spacing."""
    return " ".join(text.split())


class QueryEncoder:
    """One question's vector: from the LRU when asked recently, else micro-batched.

    Args:
        encode: Encodes a list of texts to one row each (the model's batch call).
        cache_size: How many recent questions' vectors to keep (0 keeps none).
        window_ms: How long the batcher waits for other questions.
        max_batch: The most questions one model call encodes.
        name: Names the worker thread and the errors ("embedding", "sentence encoder").
    """

    def __init__(
        self,
        encode: EncodeBatch,
        *,
        cache_size: int = 1024,
        window_ms: float = 2.0,
        max_batch: int = 32,
        name: str = "embedding",
    ) -> None:
        self.cache: LRUCache[str, np.ndarray] = LRUCache(cache_size)
        self.batcher = MicroBatcher(encode, window_ms=window_ms, max_batch=max_batch, name=name)
        self._pending: dict[str, Future[np.ndarray]] = {}  # asked for, not encoded yet
        self._lock = threading.Lock()

    def __call__(self, text: str) -> np.ndarray:
        vector = self.cache.get(normalise_query(text))
        if vector is None:
            vector = self._future(text).result()
        return vector

    def prefetch(self, text: str) -> Future[np.ndarray] | None:
        """Start encoding `text` now, for a call that will ask for it soon; never waits,
        never raises (the call itself hears of a failure). The vector on its way, or None
        when it is remembered already (or the batcher is closing)."""
        if normalise_query(text) in self.cache:
            return None
        with contextlib.suppress(BatcherClosed):  # closing: the call will hear of it
            return self._future(text)
        return None

    def _future(self, text: str) -> Future[np.ndarray]:
        """The vector of `text` on its way: one model call for however many ask at once."""
        key = normalise_query(text)  # the model reads the text as given; spacing never
        with self._lock:  # changes its words
            future = self._pending.get(key)
            if future is not None:
                return future
            future = self._pending[key] = self.batcher.submit(text)
        # outside the lock: a batch already done runs the callback here and now
        future.add_done_callback(partial(self._keep, key))
        return future

    def _keep(self, key: str, future: Future[np.ndarray]) -> None:
        if not future.cancelled() and future.exception() is None:
            self.cache.put(key, future.result())
        with self._lock:
            self._pending.pop(key, None)

    def close(self) -> None:
        self.batcher.close()
        self.cache.clear()
