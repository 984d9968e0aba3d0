"""The database engine and schema migrations."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver

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

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

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
    """Sessions whose `begin()` (a write transaction) first takes the writer's turn."""

    def __init__(self, engine: AsyncEngine, **options: Any) -> None:
        super().__init__(engine, **options)
        self.writers = WriterTurns()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        async with self.writers.turn(), super().begin() as session:
            yield session


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions; on SQLite, write transactions (`begin()`) take turns (`WriterTurns`)."""
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
