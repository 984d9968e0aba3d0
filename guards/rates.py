"""Rate limits on what clients send, counted in limits' storage (memory:// or redis).

One `RateLimits` serves every limit of a server: a check either counts the event under
every limit it is subject to, or counts nothing and says how long to wait. With a redis
storage several servers share the counts, so a client gains nothing by reconnecting to
another server.
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.exceptions import RedisError

# Rate-limit storages (limits' async ones); every redis flavour needs the `redis` package.
MEMORY_SCHEMES = frozenset({"memory"})
REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+unix", "redis+cluster", "redis+sentinel"})

Limits = Sequence[RateLimitItem]
"""All the limits one kind of event is subject to ("20/10 seconds; 40/minute")."""


def parse_limits(value: str, setting: str) -> list[RateLimitItem]:
    """One or more limits in limits' notation, separated by ';'; the error names the setting."""
    expected = 'expected limits such as "20/10 seconds; 40/minute" or "3/second"'
    try:
        items = parse_many(value)
    except ValueError:
        raise ValueError(f"{setting}={value!r}: {expected}") from None
    if not items or any(item.amount < 1 for item in items):
        raise ValueError(f"{setting}={value!r}: {expected}")
    return items


def storage_uri(rate_limit_storage: str, redis_url: str | None) -> str:
    """Where counts live: the configured storage, or the shared Redis when only that is set."""
    if urlsplit(rate_limit_storage).scheme in MEMORY_SCHEMES and redis_url:
        return redis_url
    return rate_limit_storage


log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0


class SweptMemoryStorage(MemoryStorage):
    """limits' in-process storage, with its expired entries swept at most once a second,
    in the event loop.

    limits' own sweep is started again by almost every hit, and hands every key to a
    worker thread (one `asyncio.to_thread` per key): with a thousand open chats, each
    customer message cost thousands of thread hops, about 4 of the 28 ms of CPU a message
    took under load. The counting is limits' own, unchanged.
    """

    STORAGE_SCHEME = ["kakehashi+memory"]  # limits maps schemes to classes: keep its own

    def __init__(self) -> None:
        super().__init__()
        self._swept_at = -SWEEP_SECONDS

    # limits calls this private hook (`self.__schedule_expiry()`) on every hit
    async def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._swept_at >= SWEEP_SECONDS:
            self._swept_at = now
            self.sweep()

    def sweep(self) -> None:
        """Forget expired entries and counters (no await: nothing changes meanwhile)."""
        now = time.time()
        for key, events in list(self.events.items()):
            # newest first: the expired ones are the tail
            del events[bisect.bisect_left(events, -now, key=lambda e: -e.expiry) :]
            if not events:
                del self.events[key]
                self.locks.pop(key, None)
        for key, expires in list(self.expirations.items()):
            if expires <= now:
                self.storage.pop(key, None)
                del self.expirations[key]
                self.locks.pop(key, None)


def async_storage(uri: str) -> AsyncStorage:
    """limits' async storage for a URI: memory:// in this process, or redis."""
    scheme = urlsplit(uri).scheme
    if scheme in MEMORY_SCHEMES:
        return SweptMemoryStorage()
    # limits talks to redis through coredis by default; we ship the `redis` package
    options: dict[str, Any] = {"implementation": "redispy"} if scheme in REDIS_SCHEMES else {}
    storage = storage_from_string(f"async+{uri}", **options)
    assert isinstance(storage, AsyncStorage)
    return storage


@dataclass(frozen=True)
class Limited:
    """A refused event: the limit it ran into and when to try again."""

    retry_after: int  # whole seconds, at least 1
    limit: str  # e.g. "20 per 10 seconds"


class RateLimits:
    """Moving-window counts per (kind, key) under one or more limits."""

    def __init__(self, uri: str) -> None:
        self._limiter = MovingWindowRateLimiter(async_storage(uri))

    async def aclose(self) -> None:
        """Close the storage's connections (redis; memory holds none)."""
        bridge = getattr(self._limiter.storage, "bridge", None)  # limits' redis storage
        client = getattr(bridge, "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()

    async def hit(self, items: Limits, *key: str) -> Limited | None:
        """Count one event under every limit, or none when any limit is reached.

        Returns:
            None when the event is allowed (and counted), else what refused it. While the
            storage (Redis) is unreachable every event is allowed: a broken counter must
            not silence every customer.
        """
        try:
            return await self._hit(items, *key)
        except (ConnectionError, TimeoutError, OSError, RedisError) as exc:
            log.warning("rate limits are not counted: their storage is unreachable (%s)", exc)
            return None

    async def _hit(self, items: Limits, *key: str) -> Limited | None:
        for item in items:
            if not await self._limiter.test(item, *key):
                stats = await self._limiter.get_window_stats(item, *key)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                return Limited(wait, str(item))
        for item in items:
            await self._limiter.hit(item, *key)
        return None
