"""The Redis implementations against a real Redis server: two "servers" (two sets of
objects on one Redis) see each other's events, locks and presence; a Redis restart is
survived."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import anyio
import pytest
from redis.asyncio import Redis

from delivery.hub import OVERFLOW
from delivery.redis import PREFIX, RedisHub, RedisLocks, RedisPresence
from delivery.tasks import stop
from tests._redis import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.redis]
ISOLATED_DB = 9


async def eventually(condition: Callable[[], bool], seconds: float = 20) -> None:
    """Wait until `condition()` holds (a loaded machine may sweep late; never early)."""
    with anyio.move_on_after(seconds):
        while not condition():
            await anyio.sleep(0.05)


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    # A database of their own: the session's two-server cluster (tests/app/_cluster.py)
    # sweeps grace periods on database 0 for the whole run, and took these tests' (a full
    # CI run: the retried requeue happened on a cluster server; the 2026-12-03 flake where
    # Aiko never went absent fits too).
    a, b = Redis.from_url(redis_url, db=ISOLATED_DB), Redis.from_url(redis_url, db=ISOLATED_DB)
    # and each test an empty one: they share agent ids, and a test's servers leave claims,
    # grace periods and server entries behind (a killed server cannot clean up)
    await a.flushdb()
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_an_event_published_on_one_server_reaches_a_socket_on_another(
    clients: tuple[Redis, Redis],
) -> None:
    hub_a, hub_b = RedisHub(clients[0]), RedisHub(clients[1])
    await hub_a.start()
    await hub_b.start()
    try:
        async with hub_a.subscribe("conversation:c1") as customer:
            for seq in (1, 2, 3):
                await hub_b.publish("conversation:c1", {"type": "message", "seq": seq})
            await hub_b.publish("conversation:other", {"type": "message", "seq": 9})
            got = [await asyncio.wait_for(customer.get(), 5) for _ in range(3)]
            assert [e["seq"] for e in got] == [1, 2, 3]
            await anyio.sleep(0.1)
            assert customer.empty()
    finally:
        await hub_a.close()
        await hub_b.close()


async def test_after_a_redis_restart_sockets_resync_and_live_events_flow_again(
    clients: tuple[Redis, Redis], redis_server: RedisServer
) -> None:
    hub_a, hub_b = RedisHub(clients[0], retry_seconds=0.1), RedisHub(clients[1])
    await hub_a.start()
    await hub_b.start()
    try:
        async with hub_a.subscribe("conversation:c1") as customer:
            redis_server.stop()
            first = await asyncio.wait_for(customer.get(), 10)
            assert first == {"type": OVERFLOW}  # reconnect and replay from the database
            redis_server.start()
            deadline = anyio.current_time() + 15
            while anyio.current_time() < deadline:
                await hub_b.publish("conversation:c1", {"type": "message", "seq": 4})
                await anyio.sleep(0.2)
                seen = [customer.get_nowait() for _ in range(customer.qsize())]
                if {"type": "message", "seq": 4} in seen:
                    break
            else:
                raise AssertionError("no live event after Redis came back")
    finally:
        redis_server.start_if_stopped()
        await hub_a.close()
        await hub_b.close()


async def test_a_lock_held_on_one_server_is_waited_for_on_another(
    clients: tuple[Redis, Redis],
) -> None:
    locks_a, locks_b = RedisLocks(clients[0]), RedisLocks(clients[1])
    order: list[str] = []

    async def hold(locks: RedisLocks, name: str, seconds: float) -> None:
        async with locks.hold("conversation:c1"):
            order.append(f"{name} in")
            await anyio.sleep(seconds)
            order.append(f"{name} out")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(hold, locks_a, "a", 0.1)
        await anyio.sleep(0.02)
        tasks.start_soon(hold, locks_b, "b", 0)
    assert order == ["a in", "a out", "b in", "b out"]


async def test_an_absent_agent_is_requeued_once_however_many_servers_sweep(
    clients: tuple[Redis, Redis],
) -> None:
    absent: list[int] = []

    async def on_absent(user_id: int) -> None:
        absent.append(user_id)

    a = RedisPresence(clients[0], 0.1, on_absent, sweep_seconds=0.05)
    b = RedisPresence(clients[1], 0.1, on_absent, sweep_seconds=0.05)
    await a.start()
    await b.start()
    try:
        await a.connect(7, "Aiko", 3)
        (seen_on_b,) = await b.agents()
        assert (seen_on_b.display_name, seen_on_b.available) == ("Aiko", True)
        await a.disconnect(7)
        await anyio.sleep(0.5)
        assert absent == [7]
        await b.connect(8, "Ben", 2)
        await b.disconnect(8)
        await a.connect(8, "Ben", 2)  # back on another server within the grace period
        await anyio.sleep(0.5)
        assert absent == [7]
    finally:
        await a.close()
        await b.close()


async def test_the_agents_of_a_server_that_died_go_absent_after_the_grace_period(
    clients: tuple[Redis, Redis],
) -> None:
    absent: list[int] = []

    async def on_absent(user_id: int) -> None:
        absent.append(user_id)

    # A heartbeat longer than a loaded machine's stalls (a full CI run once saw Aiko never
    # go absent with 2 s: the living server may bury the dying one before the kill, and the
    # dying one's sweep then claim Aiko's absence and be killed before carrying it out).
    # The claim expires after 1 s here and the living server carries it out then.
    dying = RedisPresence(
        clients[0], 0.1, on_absent, sweep_seconds=0.05, heartbeat_seconds=8, claim_seconds=1
    )
    living = RedisPresence(
        clients[1], 0.1, on_absent, sweep_seconds=0.05, heartbeat_seconds=8, claim_seconds=1
    )
    await dying.start()
    await living.start()
    try:
        await dying.connect(7, "Aiko", 3)  # Aiko's console is on the server about to die
        await living.connect(8, "Ben", 2)
        await dying.connect(8, "Ben", 2)  # Ben has a second tab on it
        # kill -9: no heartbeat, no disconnect, nothing cleaned up (stopped for sure: a
        # cancellation landing mid-command can be swallowed by redis-py)
        assert dying._sweeper is not None
        await stop(dying._sweeper.task)
        await eventually(lambda: bool(absent), 30)
        await anyio.sleep(0.5)  # a few more sweeps: nobody else goes absent
        # (twice only if the dying server claimed Aiko's absence in its last moment)
        assert set(absent) == {7}, "Aiko goes absent; Ben still has a console on the other"
        by_id = {p.user_id: p for p in await living.agents()}
        assert (by_id[7].connections, by_id[8].connections) == (0, 1)
    finally:
        await living.close()


async def test_an_absence_a_dying_server_took_on_is_carried_out_by_another(
    clients: tuple[Redis, Redis],
) -> None:
    """kill -9 between noticing that Aiko's grace period ended and requeueing her chats:
    once its claim expires, the living server requeues them."""
    started = anyio.Event()
    absent: list[str] = []

    async def stuck(user_id: int) -> None:
        started.set()
        await anyio.sleep_forever()

    async def on_absent(user_id: int) -> None:
        absent.append(f"{user_id} on the living server")

    dying = RedisPresence(clients[0], 0.1, stuck, sweep_seconds=0.05, claim_seconds=1)
    living = RedisPresence(clients[1], 0.1, on_absent, sweep_seconds=0.05, claim_seconds=1)
    await dying.start()
    try:
        await dying.connect(7, "Aiko", 3)
        await dying.disconnect(7)
        with anyio.fail_after(10):
            await started.wait()
        assert dying._sweeper is not None
        await stop(dying._sweeper.task)  # killed in the middle of it
        await living.start()
        await eventually(lambda: bool(absent))
        await anyio.sleep(0.3)
        assert absent == ["7 on the living server"]
    finally:
        await living.close()


async def test_a_server_whose_claim_ran_out_does_not_let_go_of_the_next_servers(
    clients: tuple[Redis, Redis],
) -> None:
    """A slow server's claim on Aiko's absence runs out and a second server claims it:
    when the slow one lets go, the second server's claim stays, or a third server would
    requeue her chats once more while the second is still on it."""
    slow = RedisPresence(clients[0], 0.1, _nothing, claim_seconds=0.2)
    second = RedisPresence(clients[1], 0.1, _nothing, claim_seconds=30)
    third = RedisPresence(clients[1], 0.1, _nothing, claim_seconds=30)
    assert await slow._claim("absent:7")
    await anyio.sleep(0.4)  # ran out while its server was busy
    assert await second._claim("absent:7")
    await slow._unclaim("absent:7")
    assert not await third._claim("absent:7")
    await second._unclaim("absent:7")
    assert await third._claim("absent:7")


async def test_a_dead_server_buried_twice_takes_its_connections_off_once(
    clients: tuple[Redis, Redis],
) -> None:
    """Aiko had one tab on a server that died and one on a live server. Two servers bury
    the dead one (the first one's claim ran out while it was slow): she is still connected
    through the live tab, and no grace period starts."""
    dead = RedisPresence(clients[0], 0.1, _nothing)
    live = RedisPresence(clients[1], 0.1, _nothing)
    await dead.connect(7, "Aiko", 3)
    await live.connect(7, "Aiko", 3)
    for burier in (RedisPresence(clients[0], 0.1, _nothing), live):
        await burier._release(7, 1, dead.server_id, "bury")
    assert (await live._get(7)).connections == 1
    assert await clients[1].zscore(PREFIX + "grace", 7) is None


async def _nothing(user_id: int) -> None:
    pass


async def test_a_failed_requeue_is_tried_again(clients: tuple[Redis, Redis]) -> None:
    calls: list[int] = []

    async def on_absent(user_id: int) -> None:
        calls.append(user_id)
        if len(calls) == 1:
            raise RuntimeError("the database is restarting")

    presence = RedisPresence(clients[0], 0.1, on_absent, sweep_seconds=0.05, claim_seconds=0.5)
    await presence.start()
    try:
        await presence.connect(7, "Aiko", 3)
        await presence.disconnect(7)
        await eventually(lambda: len(calls) >= 2)
        await anyio.sleep(0.3)
        assert calls == [7, 7], "tried again after the failure, then done with"
    finally:
        await presence.close()


async def test_an_agent_who_leaves_again_while_her_absence_is_handled_gets_a_new_one(
    clients: tuple[Redis, Redis],
) -> None:
    """Aiko comes back and leaves again while her first absence is being carried out:
    the second grace period is kept, and ends in its own requeue."""
    first_started, release = anyio.Event(), anyio.Event()
    calls: list[int] = []

    async def on_absent(user_id: int) -> None:
        calls.append(user_id)
        if len(calls) == 1:
            first_started.set()
            await release.wait()

    presence = RedisPresence(clients[0], 0.1, on_absent, sweep_seconds=0.05)
    other = RedisPresence(clients[1], 0.1, on_absent, sweep_seconds=0.05)
    await presence.start()
    try:
        await presence.connect(7, "Aiko", 3)
        await presence.disconnect(7)
        with anyio.fail_after(10):
            await first_started.wait()
        await other.connect(7, "Aiko", 3)  # back, on another server, and gone again
        await other.disconnect(7)
        release.set()
        await eventually(lambda: len(calls) >= 2)
        assert calls == [7, 7]
    finally:
        await presence.close()
        await other.close()
