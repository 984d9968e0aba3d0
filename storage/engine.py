"""The database engine and schema migrations."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from storage import sqlite_driver

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: server processes starting together migrate one at a time
_MIGRATION_LOCK = 0x6B616B65  # "kake"


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys, WAL and a generous busy timeout."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "do_connect")
        def _one_trip(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            # the URL's database and options, on a connection that makes one trip to its
            # thread per statement (`storage/sqlite_driver.py`)
            return dialect.loaded_dbapi.connect(
                *cargs, async_creator_fn=sqlite_driver.connect, **cparams
            )

        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # PostgreSQL: pooled connections are tested before use, so a restarted database server
    # costs a reconnect rather than an error
    return create_async_engine(url, pool_pre_ping=True)


class WriterTurns:
    """One SQLite write transaction at a time in this process, the others waiting in line.

    SQLite lets one connection write at a time. Without a line, a second writer's
    statement meets a locked database and SQLite's busy handler sleeps and retries (1, 2,
    5 … 100 ms): under load those sleeps added up to seconds per reply. Here writers wait
    on an asyncio lock instead and start the moment the previous one commits. A
    transaction opened inside another one of the same task (nested) does not wait for
    itself.

    The line is the process's one point where writes go one at a time, so it keeps count
    (`turns`, `waited_seconds`, `held_seconds`, served as Prometheus counters): a server
    whose writer is held most of every second has reached its message rate, whatever its
    CPU shows.
    """

    def __init__(self) -> None:
        self.turns = 0
        self.waited_seconds = 0.0
        self.held_seconds = 0.0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._holders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[Any]] = (
            weakref.WeakKeyDictionary()
        )

    def held_here(self) -> bool:
        """Whether the running task holds the turn (a write transaction of its own)."""
        task = asyncio.current_task()
        return task is not None and self._holders.get(asyncio.get_running_loop()) is task

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is not None and self._holders.get(loop) is task:
            yield  # nested in this task's own write transaction
            return
        lock = self._locks.setdefault(loop, asyncio.Lock())
        asked = time.perf_counter()
        async with lock:
            taken = time.perf_counter()
            if task is not None:
                self._holders[loop] = task
            try:
                yield
            finally:
                self._holders.pop(loop, None)
                self.turns += 1
                self.waited_seconds += taken - asked
                self.held_seconds += time.perf_counter() - taken


class SQLiteSessions(async_sessionmaker[AsyncSession]):
    """Sessions whose `begin()` (a write transaction) first takes the writer's turn, and
    `write` for the hot writes: a whole transaction in one trip to a thread."""

    def __init__(self, engine: AsyncEngine, *, busy_timeout: float = 30, **options: Any) -> None:
        super().__init__(engine, **options)
        self.writers = WriterTurns()
        self._engine = engine
        self._busy_timeout = busy_timeout  # the writer's connection's, as the engine's
        self._writer: _SQLiteWriter | None = None

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        async with self.writers.turn(), super().begin() as session:
            yield session

    async def write(self, work: Callable[[Connection], T]) -> T:
        """`work` in one write transaction, in the writer's thread, in its turn (a
        database in memory is the engine's alone: there, through the engine)."""
        if self._engine.url.database in (None, "", ":memory:"):
            async with self.writers.turn(), self._engine.begin() as connection:
                return await connection.run_sync(work)
        if self.writers.held_here():
            # the writer's connection would wait for this task's own transaction
            raise RuntimeError("write() inside a write transaction of the same task")
        if self._writer is None:
            url = self._engine.url.set(drivername="sqlite")
            self._writer = _SQLiteWriter(url, self._busy_timeout)
            weakref.finalize(self, self._writer.close)
        async with self.writers.turn():
            return await self._writer.run(work)

    def close(self) -> None:
        """Close the writer's connection and thread once the writes queued there are done
        (the engine's own connections are the engine's: `dispose()` it). A write after
        this opens them again."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


class _SQLiteWriter:
    """A synchronous connection to the database and the one thread it runs in.

    Through the engine's aiosqlite connections every statement is a trip to the
    connection's thread and back to the event loop, and under load the way back waits
    behind every other task ready to run: a write transaction of three statements and a
    commit held the writer's turn 4-5 ms at 60 messages/s, and the turn is what limits a
    server's message rate. Here the transaction runs whole in the thread: one trip.
    """

    def __init__(self, url: URL, busy_timeout: float) -> None:
        self._engine = create_sync_engine(
            url,
            poolclass=StaticPool,  # one connection; writes take turns, never overlap
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
        )
        event.listen(self._engine, "connect", _sqlite_pragmas)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work`'s transaction in the thread. A caller cancelled meanwhile (at shutdown)
        still waits for it to commit or roll back: its turn is not given back while the
        thread holds the database."""
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._thread, self._transaction, work)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])
            raise

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        with self._engine.begin() as connection:
            return work(connection)

    def close(self) -> None:
        """The connection closed in the thread, after the work queued before it."""
        try:
            self._thread.submit(self._engine.dispose)
        except RuntimeError:  # closed already
            return
        self._thread.shutdown(wait=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


async def write(sessions: async_sessionmaker[AsyncSession], work: Callable[[Connection], T]) -> T:
    """Run `work` (statements on a synchronous connection) in one write transaction.

    On SQLite in one trip to the writer's thread, in the writer's turn
    (`SQLiteSessions.write`); elsewhere through the async engine (`run_sync`: PostgreSQL
    has no line of writers, and each statement is a trip to the server anyway). Not from
    inside another write transaction of the same task: on SQLite it would wait for itself.
    """
    if isinstance(sessions, SQLiteSessions):
        return await sessions.write(work)
    engine: AsyncEngine = sessions.kw["bind"]
    async with engine.begin() as connection:
        return await connection.run_sync(work)


async def dispose(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Close the database connections: the engine's, and the SQLite writer's."""
    if isinstance(sessions, SQLiteSessions):
        sessions.close()
    await engine.dispose()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions; on SQLite, write transactions (`begin()`, `write`) take turns
    (`WriterTurns`)."""
    if engine.dialect.name == "sqlite":
        return SQLiteSessions(engine, expire_on_commit=False)
    return async_sessionmaker(engine, expire_on_commit=False)


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # held until the transaction ends; the next process then finds the schema current
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
