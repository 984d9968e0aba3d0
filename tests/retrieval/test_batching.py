"""Query vectors for concurrent replies: the micro-batcher and the LRU of recent questions."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from retrieval.batching import BatcherClosed, LRUCache, MicroBatcher, QueryEncoder


class CountingModel:
    """A deterministic fake model: a text's vector depends on the text alone."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
        if self.fail:
            raise ValueError("the model ran out of memory")
        return np.stack([vector(t) for t in texts])


def vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")
    return np.random.default_rng(seed).standard_normal(8).astype(np.float32)


QUESTIONS = [f"question {i}" for i in range(24)]


def ask_together(batcher: MicroBatcher, texts: list[str]) -> list[np.ndarray]:
    """Every text from its own thread, all released at once."""
    start = threading.Barrier(len(texts))

    def ask(text: str) -> np.ndarray:
        start.wait()
        return batcher(text)

    with ThreadPoolExecutor(len(texts)) as pool:
        return list(pool.map(ask, texts))


def test_concurrent_questions_get_the_vectors_they_get_one_by_one() -> None:
    model = CountingModel()
    batcher = MicroBatcher(model, window_ms=100, max_batch=8)
    batcher._concurrent_at = float("inf")  # as if callers had just come together
    vectors = ask_together(batcher, QUESTIONS)
    for text, got in zip(QUESTIONS, vectors, strict=True):
        np.testing.assert_array_equal(got, vector(text))
    assert sum(len(call) for call in model.calls) == len(QUESTIONS)
    assert len(model.calls) < len(QUESTIONS), "some questions shared a model call"
    assert max(len(call) for call in model.calls) <= 8, "batches stay within max_batch"
    batcher.close()


def test_the_same_question_asked_at_once_is_encoded_once_per_batch() -> None:
    model = CountingModel()
    batcher = MicroBatcher(model, window_ms=200, max_batch=16)
    batcher._concurrent_at = float("inf")
    vectors = ask_together(batcher, ["where is my parcel"] * 6)
    assert all(np.array_equal(v, vector("where is my parcel")) for v in vectors)
    assert sum(len(call) for call in model.calls) < 6
    batcher.close()


def test_a_failing_model_call_fails_every_caller_of_the_batch() -> None:
    batcher = MicroBatcher(CountingModel(fail=True), window_ms=50)
    batcher._concurrent_at = float("inf")
    start = threading.Barrier(4)

    def ask(text: str) -> str:
        start.wait()
        try:
            batcher(text)
        except ValueError as exc:
            return str(exc)
        return "no error"

    with ThreadPoolExecutor(4) as pool:
        errors = list(pool.map(ask, QUESTIONS[:4]))
    assert errors == ["the model ran out of memory"] * 4
    batcher.close()


def test_a_model_that_returns_too_few_vectors_is_an_error_not_a_wrong_answer() -> None:
    batcher = MicroBatcher(lambda texts: np.zeros((0, 8), dtype=np.float32))
    with pytest.raises(Exception, match="returned 0 vectors for 1 texts"):
        batcher("hello")
    batcher.close()


def test_a_closed_batcher_refuses_new_questions() -> None:
    model = CountingModel()
    batcher = MicroBatcher(model)
    np.testing.assert_array_equal(batcher("before"), vector("before"))
    batcher.close()
    with pytest.raises(BatcherClosed, match="closed"):
        batcher("after")
    assert model.calls == [["before"]]


def test_the_lru_keeps_at_most_maxsize_and_forgets_the_least_recently_used() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    for i in range(100):
        cache.put(str(i), i)
    assert len(cache) == 2


def test_a_repeated_question_is_encoded_once() -> None:
    model = CountingModel()
    queries = QueryEncoder(model, cache_size=4)
    first = queries("How do I return an item?")
    again = queries("How do I  return an item? ")  # the same words, other spacing
    np.testing.assert_array_equal(first, again)
    assert model.calls == [["How do I return an item?"]]
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 1.0  # shared by every caller: nobody may change it
    queries.close()


def test_the_query_cache_stays_bounded() -> None:
    model = CountingModel()
    queries = QueryEncoder(model, cache_size=3)
    for text in QUESTIONS:
        queries(text)
    assert len(queries.cache) == 3
    queries(QUESTIONS[0])  # long forgotten: encoded again
    assert len(model.calls) == len(QUESTIONS) + 1
    queries.close()


def test_a_prefetched_question_is_encoded_once_and_ready_when_asked() -> None:
    model = CountingModel()
    queries = QueryEncoder(model, cache_size=4)
    queries.prefetch("Where is my parcel?")
    queries.prefetch("Where is my  parcel?")  # on its way already
    vector_ = queries("Where is my parcel?")
    np.testing.assert_array_equal(vector_, vector("Where is my parcel?"))
    queries.prefetch("Where is my parcel?")  # known: nothing to do
    assert model.calls == [["Where is my parcel?"]]
    queries.close()


def test_a_failed_prefetch_leaves_the_question_to_be_encoded_when_asked() -> None:
    model = CountingModel(fail=True)
    queries = QueryEncoder(model, cache_size=4)
    queries.prefetch("Where is my parcel?")  # fails in the batcher's thread, silently
    while queries._pending:  # the failure is heard of
        threading.Event().wait(0.001)
    model.fail = False
    np.testing.assert_array_equal(queries("Where is my parcel?"), vector("Where is my parcel?"))
    assert len(model.calls) == 2
    queries.close()
    queries.prefetch("Anything else?")  # closed: nothing happens, nothing raised


def test_a_kept_vector_does_not_hold_on_to_its_whole_batch() -> None:
    """The query caches keep a thousand vectors; each must be its own row, not a view that
    keeps the batch it came in (up to 32 rows) alive."""
    batcher = MicroBatcher(CountingModel(), window_ms=50)
    vectors = ask_together(batcher, QUESTIONS[:8])
    assert all(v.base is None and v.flags.owndata for v in vectors)
    assert all(not v.flags.writeable for v in vectors)
    batcher.close()
