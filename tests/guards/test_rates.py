"""Rate limits and connection caps, in memory and on a real Redis shared by two servers."""

from __future__ import annotations

import asyncio
import time

import anyio
import pytest
from limits.aio.storage import MemoryStorage
from redis.asyncio import Redis

from guards.connections import InProcessConnections, RedisConnections
from guards.rates import RateLimits, SweptMemoryStorage, async_storage, parse_limits, storage_uri


def test_limits_are_parsed_and_bad_ones_name_the_setting() -> None:
    assert [str(i) for i in parse_limits("20/10 seconds; 40/minute", "S")] == [
        "20 per 10 second",
        "40 per 1 minute",
    ]
    with pytest.raises(ValueError, match="KAKEHASHI_X='lots'"):
        parse_limits("lots", "KAKEHASHI_X")


def test_redis_holds_the_counts_when_only_redis_is_configured() -> None:
    assert storage_uri("memory://", "redis://r:6379/0") == "redis://r:6379/0"
    assert storage_uri("memory://", None) == "memory://"
    assert storage_uri("redis://other/1", "redis://r:6379/0") == "redis://other/1"


def test_every_limit_counts_and_a_refusal_counts_nothing() -> None:
    async def main() -> None:
        rates = RateLimits("memory://")
        items = parse_limits("3/minute; 10/hour", "S")
        assert [await rates.hit(items, "k") for _ in range(3)] == [None] * 3
        refused = await rates.hit(items, "k")
        assert refused is not None and 1 <= refused.retry_after <= 60
        assert refused.limit == "3 per 1 minute"
        assert await rates.hit(items, "other") is None  # keys are counted apart

    anyio.run(main)


def test_in_memory_counts_are_swept_without_a_thread_per_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a thousand chats open, limits' own sweep handed each key to a worker thread on
    almost every hit. Here no hit starts a thread, expired counts are forgotten, and a
    client that waited out its window is let through again."""
    # the private hook limits calls on every hit: if an upgrade renames it, this says so
    assert "_MemoryStorage__schedule_expiry" in vars(MemoryStorage)

    threads: list[object] = []

    async def to_thread(function: object, *_: object) -> None:
        threads.append(function)

    async def main() -> None:
        monkeypatch.setattr(asyncio, "to_thread", to_thread)
        rates = RateLimits("memory://")
        storage = rates._limiter.storage
        assert isinstance(storage, SweptMemoryStorage)
        items = parse_limits("2/second", "S")
        for chat in range(1000):
            assert await rates.hit(items, f"chat-{chat}") is None
        assert [await rates.hit(items, "k") is None for _ in range(3)] == [True, True, False]
        time.sleep(1.1)
        assert await rates.hit(items, "k") is None, "the window has passed"
        storage.sweep()
        assert set(storage.events) == {"LIMITER/k/2/1/second"}, "what expired is forgotten"
        await asyncio.sleep(0.01)  # a sweep limits would have started in the background
        assert threads == [], "a rate-limit hit started a worker thread"

    anyio.run(main)
    assert isinstance(async_storage("memory://"), SweptMemoryStorage)


def test_in_process_connections_are_capped_and_given_back() -> None:
    async def main() -> None:
        counter = InProcessConnections()
        assert [await counter.acquire("a", 2) for _ in range(3)] == [True, True, False]
        await counter.release("a")
        assert await counter.acquire("a", 2)
        assert counter.open("a") == 2

    anyio.run(main)


@pytest.mark.redis
def test_two_servers_share_counts_through_redis(redis_url: str) -> None:
    async def main() -> None:
        one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
        a, b = RedisConnections(one), RedisConnections(two)
        assert await a.acquire("1.2.3.4", 2) and await b.acquire("1.2.3.4", 2)
        assert not await a.acquire("1.2.3.4", 2)
        await b.release("1.2.3.4")
        assert await a.acquire("1.2.3.4", 2)
        items = parse_limits("2/minute", "S")
        ra, rb = RateLimits(redis_url), RateLimits(redis_url)
        assert await ra.hit(items, "chat", "t") is None
        assert await rb.hit(items, "chat", "t") is None
        assert await ra.hit(items, "chat", "t") is not None
        await ra.aclose()
        await rb.aclose()
        await one.aclose()
        await two.aclose()

    anyio.run(main)
