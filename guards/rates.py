"""Rate limits on what clients send, counted in limits' storage (memory:// or redis).

One `RateLimits` serves every limit of a server: a check either counts the event under
every limit it is subject to, or counts nothing and says how long to wait. With a redis
storage several servers share the counts, so a client gains nothing by reconnecting to
another server.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.exceptions import RedisError

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


@dataclass(frozen=True)
class Limited:
    """A refused event: the limit it ran into and when to try again."""

    retry_after: int  # whole seconds, at least 1
    limit: str  # e.g. "20 per 10 seconds"


class RateLimits:
    """Moving-window counts per (kind, key) under one or more limits."""

    def __init__(self, uri: str) -> None:
        scheme = urlsplit(uri).scheme
        # limits talks to redis through coredis by default; we ship the `redis` package
        options: dict[str, Any] = {"implementation": "redispy"} if scheme in REDIS_SCHEMES else {}
        self._limiter = MovingWindowRateLimiter(storage_from_string(f"async+{uri}", **options))

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
