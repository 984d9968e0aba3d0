"""Limits on the customer websocket: events per token, address and connection, open
connections per address, the hello deadline and the idle timeout (docs/protocol.md).

Built once in the lifespan from the settings; the counts live in limits' storage and the
`ConnectionCounter`, so with Redis configured every server shares them.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

from app.metrics import Metrics
from app.settings import Settings
from conversations.errors import ChatError
from guards.connections import ConnectionCounter, InProcessConnections, RedisConnections
from guards.rates import Limited, Limits, RateLimits, parse_limits, storage_uri

log = logging.getLogger(__name__)


class RateLimited(ChatError):
    """An event refused by a rate limit; the client may send it again after `retry_after`."""

    def __init__(self, limited: Limited) -> None:
        super().__init__(
            "rate_limited",
            f"too many events ({limited.limit}); nothing was stored for this one: "
            f"send it again in {limited.retry_after} s",
        )
        self.retry_after = limited.retry_after


@dataclass
class ChatGuard:
    settings: Settings
    shared: RateLimits  # counts per token and per address (shared with other servers)
    local: RateLimits  # counts per connection (this process only)
    connections: ConnectionCounter
    metrics: Metrics
    per_token: Limits
    per_ip: Limits
    per_connection: Limits

    @classmethod
    def build(cls, settings: Settings, redis: Redis | None, metrics: Metrics) -> ChatGuard:
        def limits(name: str) -> Limits:
            return parse_limits(getattr(settings, name), f"KAKEHASHI_{name.upper()}")

        connections: ConnectionCounter = (
            RedisConnections(redis, ttl_seconds=int(settings.chat_idle_seconds) + 60)
            if redis is not None
            else InProcessConnections()
        )
        return cls(
            settings,
            RateLimits(storage_uri(settings.rate_limit_storage, settings.redis_url)),
            RateLimits("memory://"),
            connections,
            metrics,
            limits("chat_messages_per_token"),
            limits("chat_messages_per_ip"),
            limits("chat_frames_per_connection"),
        )

    async def close(self) -> None:
        await self.shared.aclose()

    async def admit(self, address: str) -> bool:
        """Count a new connection from `address`, unless it has too many open.

        While the counter (Redis) is unreachable every connection is admitted: a broken
        counter must not shut every customer out.
        """
        try:
            admitted = await self.connections.acquire(
                address, self.settings.chat_connections_per_ip
            )
        except (ConnectionError, TimeoutError, OSError, RedisError) as exc:
            log.warning("open connections are not counted: the counter is unreachable (%s)", exc)
            return True
        if not admitted:
            self.metrics.rate_limited.labels("connections_per_ip").inc()
        return admitted

    async def release(self, address: str) -> None:
        # when the counter is unreachable the count expires by itself (RedisConnections' ttl)
        with contextlib.suppress(ConnectionError, TimeoutError, OSError, RedisError):
            await self.connections.release(address)

    async def frame(self, connection: str) -> None:
        """Count any frame on one connection (typing included).

        Raises:
            RateLimited: too many frames on this connection.
        """
        await self._check(self.local, self.per_connection, "frames_per_connection", connection)

    async def event(self, address: str, conversation: str | None) -> None:
        """Count an event that changes something, per address and per conversation.

        Raises:
            RateLimited: too many from this address or for this conversation.
        """
        if conversation is not None:
            await self._check(self.shared, self.per_token, "messages_per_token", conversation)
        await self._check(self.shared, self.per_ip, "messages_per_ip", address)

    async def _check(self, rates: RateLimits, items: Limits, name: str, key: str) -> None:
        limited = await rates.hit(items, "chat", name, key)
        if limited is not None:
            self.metrics.rate_limited.labels(name).inc()
            raise RateLimited(limited)


def client_address(connection: HTTPConnection) -> str:
    """The client's address as the server reports it (uvicorn applies trusted proxy headers)."""
    return connection.client.host if connection.client else "unknown"
