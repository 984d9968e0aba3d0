"""Redis implementations: several server processes share live events, locks and presence.

Chosen in `app/wiring.py` when `KAKEHASHI_REDIS_URL` is set. Each server keeps its own
websocket subscribers (an `InProcessHub`) and hears every other server's events through
one Redis pattern subscription, so a customer on one server and an agent on another see
each other live. When the link to Redis breaks, every local subscriber is told to
reconnect (they replay from the database by seq, so nothing is lost) while the hub
reconnects and subscribes again by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from delivery.events import Frame
from delivery.hub import OVERFLOW, InProcessHub
from delivery.locks import InProcessLocks
from delivery.presence import AbsentCallback, AgentPresence, Status
from delivery.tasks import Loop, stop

log = logging.getLogger(__name__)

PREFIX = "kakehashi:"
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisHub:
    """Publishes to Redis; delivers what any server published to this server's sockets."""

    def __init__(
        self, redis: Redis, *, max_pending: int = 1000, retry_seconds: float = 0.5
    ) -> None:
        self.redis = redis
        self.retry_seconds = retry_seconds
        self._local = InProcessHub(max_pending)
        self._channels: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._subscribed_before = False

    async def start(self) -> None:
        """Subscribe and start delivering (returns once the subscription is active)."""
        self._reader = asyncio.create_task(self._read_forever())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def close(self) -> None:
        await stop(self._reader)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[Frame]]:
        async with self._local.subscribe(channel) as queue:
            self._channels.add(channel)
            try:
                yield queue
            finally:
                if not self._local.subscribers(channel):
                    self._channels.discard(channel)

    async def publish(self, channel: str, event: Frame) -> None:
        payload = json.dumps(event, ensure_ascii=False)
        try:
            await self.redis.publish(PREFIX + "hub:" + channel, payload)
        except _DOWN:
            # Not delivered live: whoever watches replays it from the database when the
            # hub tells them to reconnect, once Redis is back.
            log.warning("redis is unreachable: event on %s not delivered live", channel)

    def subscribers(self, channel: str) -> int:
        return self._local.subscribers(channel)

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except _DOWN:
                log.warning("lost the redis subscription; reconnecting")
            except Exception:
                log.exception("redis hub reader failed; reconnecting")
            self._ready.clear()
            await self._resync()
            await asyncio.sleep(self.retry_seconds)

    async def _read(self) -> None:
        pubsub = self.redis.pubsub()
        try:
            await pubsub.psubscribe(PREFIX + "hub:*")
            if self._subscribed_before:
                await self._resync()  # events may have been missed while it was down
            self._subscribed_before = True
            self._ready.set()
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                channel = _text(message["channel"]).removeprefix(PREFIX + "hub:")
                await self._local.publish(channel, json.loads(_text(message["data"])))
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2

    async def _resync(self) -> None:
        """Tell every local subscriber it may have missed events: it reconnects and replays."""
        for channel in list(self._channels):
            await self._local.publish(channel, {"type": OVERFLOW})


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLocks:
    """A Redis lock per key (SET NX with expiry), behind a local lock per key.

    The local lock keeps this server's own waiters from polling Redis; the Redis lock
    orders servers. The expiry frees a lock a crashed server held.
    """

    def __init__(self, redis: Redis, *, expire_seconds: float = 30.0) -> None:
        self.redis = redis
        self.expire_seconds = expire_seconds
        self._local = InProcessLocks()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key):
            lock = self.redis.lock(PREFIX + "lock:" + key, timeout=self.expire_seconds, sleep=0.005)
            await lock.acquire()
            try:
                yield
            finally:
                try:
                    await lock.release()
                except Exception:  # expired meanwhile, or Redis is gone: nothing to free
                    log.warning("could not release the redis lock %s", key)

    def __len__(self) -> int:
        return len(self._local)


# An agent's connections go down by ARGV[2]; at none, the grace period starts (deadline
# ARGV[3]). KEYS[3], the hash of a server's connections, goes down with them in the same
# step ("release") or loses the agent's entry ("bury"): no crash between the two steps
# can leave an agent counted as connected, or out of the grace periods, for ever.
_RELEASE = """
local count = tonumber(ARGV[2])
if ARGV[4] == 'bury' then
  -- a second burier (the first one's claim ran out) finds the entry gone: nothing to take
  if redis.call('HDEL', KEYS[3], ARGV[1]) == 0 or count <= 0 then return nil end
else
  redis.call('HINCRBY', KEYS[3], ARGV[1], -count)
end
local left = redis.call('HINCRBY', KEYS[1], 'connections', -count)
if left <= 0 then
  redis.call('HSET', KEYS[1], 'connections', 0)
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return left
"""
# The grace period ARGV[1] ended at ARGV[2] is done with: removed, unless the agent came
# back and left again meanwhile (a new deadline, which stays).
_GRACE_DONE = """
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if deadline and tonumber(deadline) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""

# A claim is let go of only by the server holding it: one that ran out while its holder
# was slow may be another server's by now.
_UNCLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisPresence:
    """Agents' presence in Redis hashes; grace periods in a sorted set by deadline.

    Every server sweeps the sorted set once a second. An ended grace period is claimed
    (SET NX with an expiry, `claim_seconds`) by one server, which runs `on_absent` and
    only then removes the entry: a server that dies (or fails) between the two leaves
    the entry, and another server runs `on_absent` once the claim expires. So each agent
    is put absent at least once and, unless a server dies on the way, exactly once;
    `on_absent` must bear a second run (requeueing an agent's chats twice moves nothing).

    Each server also counts the connections it holds (a hash of its own) and keeps a
    heartbeat key alive. A server that dies without saying so (kill -9, power) stops the
    heartbeat: the first server to notice claims its burial, takes its counts off the
    agents, whose grace periods then start as if they had disconnected, and only then
    forgets it; each agent's count moves in one atomic step, so a burier that dies too
    leaves the rest to the next.
    """

    def __init__(
        self,
        redis: Redis,
        grace_seconds: float,
        on_absent: AbsentCallback,
        *,
        sweep_seconds: float = 1.0,
        heartbeat_seconds: float = 15.0,
        claim_seconds: float = 60.0,
    ) -> None:
        self.redis = redis
        self.grace_seconds = grace_seconds
        self.on_absent = on_absent
        self.sweep_seconds = sweep_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.claim_seconds = claim_seconds
        self.server_id = uuid.uuid4().hex
        self._sweeper: Loop[None] | None = None
        self._release_script = redis.register_script(_RELEASE)
        self._grace_done = redis.register_script(_GRACE_DONE)
        self._unclaim_script = redis.register_script(_UNCLAIM)

    def _key(self, user_id: int) -> str:
        return f"{PREFIX}presence:{user_id}"

    @staticmethod
    def _held(server_id: str) -> str:
        return f"{PREFIX}presence-server:{server_id}"

    @staticmethod
    def _alive(server_id: str) -> str:
        return f"{PREFIX}presence-server:{server_id}:alive"

    async def _claim(self, what: str) -> bool:
        """Whether this server may do `what` (no other server is doing it)."""
        claimed = await self.redis.set(
            f"{PREFIX}claim:{what}", self.server_id, nx=True, px=int(self.claim_seconds * 1000)
        )
        return bool(claimed)

    async def _unclaim(self, what: str) -> None:
        """Let go of this server's claim on `what` (not another's, taken after it ran out)."""
        await self._unclaim_script(keys=[f"{PREFIX}claim:{what}"], args=[self.server_id])

    async def start(self) -> None:
        await self._beat()
        # stopped between sweeps, never in the middle of one
        self._sweeper = Loop(
            partial(asyncio.sleep, self.sweep_seconds), self._sweep_once, "presence sweep"
        )

    async def _beat(self) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(PREFIX + "presence-servers", self.server_id)
            pipe.set(self._alive(self.server_id), 1, px=int(self.heartbeat_seconds * 1000))
            await pipe.execute()

    async def connect(self, user_id: int, display_name: str, max_open_chats: int) -> AgentPresence:
        key = self._key(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "display_name": display_name,
                    "max_open_chats": max_open_chats,
                    "status": "online",
                },
            )
            pipe.hincrby(key, "connections", 1)
            pipe.hincrby(self._held(self.server_id), str(user_id), 1)
            pipe.hsetnx(key, "last_assigned", 0)
            pipe.sadd(PREFIX + "presence", user_id)
            pipe.zrem(PREFIX + "grace", user_id)
            await pipe.execute()
        return await self._get(user_id)

    async def disconnect(self, user_id: int) -> None:
        if not await self.redis.exists(self._key(user_id)):
            return
        await self._release(user_id, 1, self.server_id, "release")

    async def _release(self, user_id: int, count: int, server_id: str, how: str) -> None:
        """`count` fewer connections for the agent, held by `server_id` ("release": its
        count goes down; "bury": the dead server's entry goes); none left starts the
        grace period."""
        await self._release_script(
            keys=[self._key(user_id), PREFIX + "grace", self._held(server_id)],
            args=[str(user_id), count, time.time() + self.grace_seconds, how],
        )

    async def set_status(self, user_id: int, status: Status) -> None:
        await self.redis.hset(self._key(user_id), "status", status)

    async def assigned(self, user_id: int) -> None:
        await self.redis.hset(self._key(user_id), "last_assigned", time.time())

    async def agents(self) -> list[AgentPresence]:
        ids = sorted(int(_text(i)) for i in await self.redis.smembers(PREFIX + "presence"))
        found = [await self._get(user_id) for user_id in ids]
        return [p for p in found if p is not None]

    async def _get(self, user_id: int) -> AgentPresence:
        raw = {
            _text(k): _text(v) for k, v in (await self.redis.hgetall(self._key(user_id))).items()
        }
        return AgentPresence(
            user_id,
            raw.get("display_name", ""),
            int(raw.get("max_open_chats", 0)),
            cast(Status, raw.get("status", "online")),
            max(0, int(raw.get("connections", 0))),
            float(raw.get("last_assigned", 0)),
        )

    async def close(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
        # a clean stop: this server's sockets have signed out (disconnect) already
        with contextlib.suppress(*_DOWN):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.srem(PREFIX + "presence-servers", self.server_id)
                pipe.delete(self._held(self.server_id), self._alive(self.server_id))
                await pipe.execute()

    async def _sweep_once(self, _: None) -> None:
        try:
            await self.sweep()
        except _DOWN:
            log.warning("redis is unreachable: grace periods are checked again later")

    async def sweep(self) -> None:
        """Keep this server's heartbeat; take the counts of servers that died; run
        `on_absent` for each agent whose grace period is over (on one server)."""
        await self._beat()
        await self._bury_dead_servers()
        await self._end_grace_periods()

    async def _bury_dead_servers(self) -> None:
        for member in await self.redis.smembers(PREFIX + "presence-servers"):
            server_id = _text(member)
            if server_id == self.server_id or await self.redis.exists(self._alive(server_id)):
                continue
            if not await self._claim(f"bury:{server_id}"):
                continue  # another server is burying it
            held = await self.redis.hgetall(self._held(server_id))
            for user, count in held.items():
                await self._release(int(_text(user)), int(_text(count)), server_id, "bury")
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.srem(PREFIX + "presence-servers", server_id)
                pipe.delete(self._held(server_id))
                await pipe.execute()
            await self._unclaim(f"bury:{server_id}")
            released = sum(1 for count in held.values() if int(_text(count)) > 0)
            log.warning("a server stopped without signing out its agents: %d released", released)

    async def _end_grace_periods(self) -> None:
        due = await self.redis.zrangebyscore(PREFIX + "grace", "-inf", time.time(), withscores=True)
        for member, deadline in cast(list[tuple[bytes, float]], due):
            user = _text(member)
            if not await self._claim(f"absent:{user}"):
                continue  # another server is on it
            try:
                if (await self._get(int(user))).connections == 0:
                    await self.on_absent(int(user))
            except _DOWN:
                raise
            except Exception:  # the claim expires and a server tries again
                log.exception("putting agent %s absent failed; tried again later", user)
                continue
            await self._grace_done(keys=[PREFIX + "grace"], args=[user, repr(deadline)])
            await self._unclaim(f"absent:{user}")
