"""SQLite write transactions take turns in the process instead of meeting a locked database."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.engine import SQLiteSessions, dispose, session_factory, write

pytestmark = pytest.mark.anyio


def impatient(path: Path) -> AsyncEngine:
    """An engine whose connections give up at once on a locked database (no busy wait)."""
    return create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0})


async def writers(
    sessions: async_sessionmaker[AsyncSession], count: int
) -> list[BaseException | None]:
    async def write(n: int) -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.002)  # another writer gets to run meanwhile
            await session.execute(text("UPDATE totals SET n = n + 1"))

    return await asyncio.gather(*(write(n) for n in range(count)), return_exceptions=True)


async def schema(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("PRAGMA journal_mode=WAL"))
        await connection.execute(text("CREATE TABLE notes (n INTEGER)"))
        await connection.execute(text("CREATE TABLE totals (n INTEGER)"))
        await connection.execute(text("INSERT INTO totals VALUES (0)"))


def counted(n: int) -> Callable[[Connection], int]:
    """A hot write: note `n`, count it, and return the total it saw after its own."""

    def add(connection: Connection) -> int:
        connection.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
        connection.execute(text("UPDATE totals SET n = n + 1"))
        return int(connection.execute(text("SELECT n FROM totals")).scalar_one())

    return add


async def test_concurrent_write_transactions_all_commit(tmp_path: Path) -> None:
    engine = impatient(tmp_path / "turns.db")
    await schema(engine)
    sessions = session_factory(engine)
    assert isinstance(sessions, SQLiteSessions)
    assert await writers(sessions, 40) == [None] * 40
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 40
        assert await session.scalar(text("SELECT n FROM totals")) == 40, "no update was lost"
    await engine.dispose()


async def test_without_turns_the_same_writers_meet_a_locked_database(tmp_path: Path) -> None:
    """What the turns prevent (SQLite's busy handler would sleep and retry instead)."""
    engine = impatient(tmp_path / "plain.db")
    await schema(engine)
    outcomes = await writers(async_sessionmaker(engine), 40)
    assert any(isinstance(o, OperationalError) and "locked" in str(o) for o in outcomes)
    await engine.dispose()


async def test_a_transaction_opened_inside_a_write_transaction_does_not_wait_for_it(
    tmp_path: Path,
) -> None:
    engine = impatient(tmp_path / "nested.db")
    await schema(engine)
    sessions = session_factory(engine)
    async with asyncio.timeout(10):
        async with sessions.begin() as outer, sessions.begin() as inner:
            assert await outer.scalar(text("SELECT n FROM totals")) == 0
            assert await inner.scalar(text("SELECT count(*) FROM notes")) == 0
        # the turn was given back: the next writer gets it
        assert await writers(sessions, 3) == [None] * 3
    await engine.dispose()


async def test_writes_in_the_writers_thread_take_turns_with_the_others(tmp_path: Path) -> None:
    """The hot writes (`storage.engine.write`: a whole transaction in the writer's thread)
    and the session's write transactions share one line: neither meets the other's lock
    (both give up at once on a locked database here), and every write counts."""
    engine = impatient(tmp_path / "mixed.db")
    await schema(engine)
    sessions = SQLiteSessions(engine, busy_timeout=0)

    async def hot() -> int:
        return await write(sessions, counted(-1))

    outcomes = await asyncio.gather(
        writers(sessions, 20), *(hot() for _ in range(20)), return_exceptions=True
    )
    assert outcomes[0] == [None] * 20
    assert len(set(outcomes[1:])) == 20, "each hot write saw the total after its own"
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 40
        assert await session.scalar(text("SELECT n FROM totals")) == 40, "no update was lost"
    await dispose(engine, sessions)


async def test_a_failed_write_in_the_writers_thread_stores_nothing(tmp_path: Path) -> None:
    engine = impatient(tmp_path / "failed.db")
    await schema(engine)
    sessions = session_factory(engine)

    def half(connection: Connection) -> None:
        connection.execute(text("INSERT INTO notes (n) VALUES (7)"))
        connection.execute(text("INSERT INTO nowhere VALUES (1)"))

    with pytest.raises(OperationalError, match="no such table"):
        await write(sessions, half)
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 0
    assert await writers(sessions, 2) == [None] * 2  # the turn was given back
    await dispose(engine, sessions)


async def test_a_write_cancelled_while_it_runs_keeps_its_turn_until_it_ends(
    tmp_path: Path,
) -> None:
    """At shutdown a reply's write is cancelled while the writer's thread runs it: the
    next writer still waits for that transaction to end, rather than meet its lock."""
    engine = impatient(tmp_path / "cancelled.db")
    await schema(engine)
    sessions = SQLiteSessions(engine, busy_timeout=0)
    started = threading.Event()

    def slow(connection: Connection) -> None:
        connection.execute(text("INSERT INTO notes (n) VALUES (1)"))
        started.set()
        time.sleep(0.3)  # the transaction is open, the database locked

    running = asyncio.create_task(write(sessions, slow))
    while not started.is_set():
        await asyncio.sleep(0.005)
    running.cancel()
    assert await writers(sessions, 1) == [None]  # waited for its turn: no locked database
    with pytest.raises(asyncio.CancelledError):
        await running
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 2
    await dispose(engine, sessions)


async def test_a_write_inside_a_write_transaction_of_the_same_task_is_refused(
    tmp_path: Path,
) -> None:
    """It would wait for its own task's lock on the database: refused at once instead."""
    engine = impatient(tmp_path / "inside.db")
    await schema(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await session.execute(text("INSERT INTO notes (n) VALUES (1)"))
        with pytest.raises(RuntimeError, match="inside a write transaction"):
            await write(sessions, lambda connection: None)
    await dispose(engine, sessions)
    # closed, then written again: the writer opens anew
    assert await write(sessions, lambda c: c.execute(text("SELECT 1")).scalar_one()) == 1
    await dispose(engine, sessions)


async def holding_a_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[asyncio.Task[None], asyncio.Event]:
    """A task inside a session's write transaction (its note: 1), and the event that ends it."""
    holding = asyncio.Event()
    go_on = asyncio.Event()

    async def hold() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO notes (n) VALUES (1)"))
            holding.set()
            await go_on.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    return holder, go_on


async def test_writers_cancelled_while_waiting_leave_the_line(tmp_path: Path) -> None:
    """A hot write and a session's transaction cancelled before their turn came store
    nothing, and the writers after them do not wait for them."""
    engine = impatient(tmp_path / "left.db")
    await schema(engine)
    sessions = SQLiteSessions(engine, busy_timeout=0)

    async def session_write() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO notes (n) VALUES (2)"))

    def hot_write(connection: Connection) -> None:
        connection.execute(text("INSERT INTO notes (n) VALUES (3)"))

    async with asyncio.timeout(10):
        holder, go_on = await holding_a_transaction(sessions)
        waiting = [
            asyncio.create_task(session_write()),
            asyncio.create_task(write(sessions, hot_write)),
        ]
        await asyncio.sleep(0.05)  # both in line behind the holder
        for task in waiting:
            task.cancel()
        go_on.set()
        await holder
        assert await writers(sessions, 2) == [None] * 2
        for task in waiting:
            with pytest.raises(asyncio.CancelledError):
                await task
    async with sessions() as session:
        stored = (await session.scalars(text("SELECT n FROM notes ORDER BY n"))).all()
    assert stored == [0, 1, 1], "the holder's note and the two writers' after it"
    await dispose(engine, sessions)


async def test_a_long_write_transaction_keeps_the_line_however_long_it_lasts(
    tmp_path: Path,
) -> None:
    """Writers behind a transaction that outlasts the busy timeout wait for it, rather than
    meet its lock."""
    engine = impatient(tmp_path / "long.db")
    await schema(engine)
    sessions = SQLiteSessions(engine, busy_timeout=0)
    still_held: list[bool] = []

    async def long_one() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO notes (n) VALUES (1)"))
            await asyncio.sleep(1.3)  # the thread's wait on it wakes up now and then
            still_held.append(sessions.writers.held_here())

    async def later() -> None:
        await asyncio.sleep(0.1)
        assert await writers(sessions, 1) == [None]
        await write(sessions, lambda c: c.execute(text("INSERT INTO notes (n) VALUES (2)")))

    async with asyncio.timeout(10):
        await asyncio.gather(long_one(), later())
    assert still_held == [True]
    await dispose(engine, sessions)


async def test_closing_while_a_transaction_is_open_keeps_one_line(tmp_path: Path) -> None:
    """Closed (at a shutdown step) while a session's write transaction is open, the writes
    that come next still wait for it: the new writer's thread starts after the old one's."""
    engine = impatient(tmp_path / "reopen.db")
    await schema(engine)
    sessions = SQLiteSessions(engine, busy_timeout=0)
    await write(sessions, lambda c: c.execute(text("INSERT INTO notes (n) VALUES (0)")))
    async with asyncio.timeout(10):
        holder, go_on = await holding_a_transaction(sessions)
        sessions.close()
        after = [
            asyncio.create_task(
                write(sessions, lambda c: c.execute(text("INSERT INTO notes (n) VALUES (2)")))
            ),
            asyncio.create_task(writers(sessions, 1)),
        ]
        await asyncio.sleep(0.1)
        assert not any(task.done() for task in after), "they wait for the open transaction"
        go_on.set()
        await holder
        outcomes = await asyncio.gather(*after)
    assert outcomes[1] == [None]
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 4
    await dispose(engine, sessions)


async def test_hot_writes_that_queue_up_commit_together(tmp_path: Path) -> None:
    """Writes waiting behind a busy writer go in one transaction when their turn comes
    (one more on `/metrics`' turns, not twelve), each seeing the ones before it."""
    engine = impatient(tmp_path / "group.db")
    await schema(engine)
    sessions = SQLiteSessions(engine, busy_timeout=0)
    async with asyncio.timeout(10):
        holder, go_on = await holding_a_transaction(sessions)
        queued = [asyncio.create_task(write(sessions, counted(n))) for n in range(12)]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in queued)
        go_on.set()
        await holder
        totals = await asyncio.gather(*queued)
    assert sorted(totals) == list(range(1, 13)), "each saw the total after its own"
    # read in the writer's thread, in the next turn: the ones before it are counted
    turns = await write(sessions, lambda _: sessions.writers.turns)
    assert turns == 2, "the holder's turn and one for the twelve"
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 13
    await dispose(engine, sessions)


@pytest.mark.parametrize("broken", [0, 2, 4])
async def test_a_write_that_fails_among_others_fails_alone(tmp_path: Path, broken: int) -> None:
    """One write of a group breaks (first, in the middle, last): the others commit
    anyway, and only its writer gets the error, with nothing of it stored."""
    engine = impatient(tmp_path / "group-failed.db")
    await schema(engine)
    sessions = SQLiteSessions(engine, busy_timeout=0)

    def half(connection: Connection) -> None:
        connection.execute(text("INSERT INTO notes (n) VALUES (99)"))
        connection.execute(text("INSERT INTO nowhere VALUES (1)"))

    async with asyncio.timeout(10):
        holder, go_on = await holding_a_transaction(sessions)
        works: list[Callable[[Connection], object]] = [counted(n) for n in (2, 3, 4, 5)]
        works.insert(broken, half)
        queued = [asyncio.create_task(write(sessions, work)) for work in works]
        await asyncio.sleep(0.05)
        go_on.set()
        await holder
        outcomes = await asyncio.gather(*queued, return_exceptions=True)
    assert isinstance(outcomes[broken], OperationalError)
    assert sorted(o for o in outcomes if isinstance(o, int)) == [1, 2, 3, 4]
    async with sessions() as session:
        stored = (await session.scalars(text("SELECT n FROM notes ORDER BY n"))).all()
        assert await session.scalar(text("SELECT n FROM totals")) == 4
    assert stored == [1, 2, 3, 4, 5], "the holder's note and the four good writes'"
    await dispose(engine, sessions)
