"""Rate limits and connection caps, in memory and on a real Redis shared by two servers."""

from __future__ import annotations

import anyio
import pytest
from redis.asyncio import Redis

from guards.connections import InProcessConnections, RedisConnections
from guards.rates import RateLimits, parse_limits, storage_uri


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
