"""Open connections per client address, capped, counted by every server alike.

`ConnectionCounter` is the interface; `InProcessConnections` counts in one process and
`RedisConnections` in Redis, shared by several servers. A server that dies without
releasing its connections leaves counts in Redis: each address's count expires
`ttl_seconds` after its last change, so they cannot lock an address out for longer.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

PREFIX = "kakehashi:connections:"


class ConnectionCounter(Protocol):
    async def acquire(self, address: str, limit: int) -> bool:
        """Count one more open connection from `address`, unless `limit` are open already.

        Returns:
            Whether the connection was counted (and must be released when it closes).
        """
        ...

    async def release(self, address: str) -> None:
        """One connection counted by `acquire` closed."""
        ...


class InProcessConnections:
    """Counts of one server process."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    async def acquire(self, address: str, limit: int) -> bool:
        count = self._open.get(address, 0)
        if count >= limit:
            return False
        self._open[address] = count + 1
        return True

    async def release(self, address: str) -> None:
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)

    def open(self, address: str) -> int:
        return self._open.get(address, 0)


# Counts up, gives the slot back when over the limit; refreshes the key's lifetime.
_ACQUIRE = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if count > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""
_RELEASE = """
local count = redis.call('DECR', KEYS[1])
if count <= 0 then redis.call('DEL', KEYS[1]) end
return count
"""


class RedisConnections:
    """Counts shared by every server on one Redis."""

    def __init__(self, redis: Redis, ttl_seconds: int = 3600) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    async def acquire(self, address: str, limit: int) -> bool:
        result = await self.redis.eval(_ACQUIRE, 1, PREFIX + address, limit, self.ttl_seconds)
        return bool(result)

    async def release(self, address: str) -> None:
        await self.redis.eval(_RELEASE, 1, PREFIX + address)
