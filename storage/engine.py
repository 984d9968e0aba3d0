"""The database engine and schema migrations."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
log = logging.getLogger(__name__)
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
    5 … 100 ms): under load those sleeps added up to seconds per reply. Here the line is
    the queue of one thread, the writer's, and each write starts the moment the one
    before it ends:

    - the hot writes (`SQLiteSessions.write`: a whole transaction on a synchronous
      connection) run in the thread, one after the other, with no trip through the event
      loop between them, those that queued up meanwhile in one transaction;
    - a write transaction of the ORM's sessions, which runs on the event loop (`turn`),
      holds the thread while it lasts: the thread waits on it, so nothing else writes.

    An asyncio lock held the line before, and a write's turn ended only when the event
    loop came back to the task that held it: at 90 messages a second the loop's lag
    doubled every write's turn, and the line, not the CPU, set the server's rate. A
    transaction opened inside another one of the same task (nested) does not wait for
    itself.

    The line is the process's one point where writes go one at a time, so it keeps count
    (`turns`, `waited_seconds`, `held_seconds`, served as Prometheus counters), in the
    thread: a server whose writer is held most of every second has reached its message
    rate, whatever its CPU shows.
    """

    def __init__(self) -> None:
        self.turns = 0
        self.waited_seconds = 0.0
        self.held_seconds = 0.0
        self._thread: ThreadPoolExecutor | None = None
        self._closing: Future[object] | None = None  # the closed thread's last work
        self._holders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[Any]] = (
            weakref.WeakKeyDictionary()
        )

    def held_here(self) -> bool:
        """Whether the running task holds the turn (a write transaction of its own)."""
        task = asyncio.current_task()
        return task is not None and self._holders.get(asyncio.get_running_loop()) is task

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the line while the body (a transaction on the event loop) runs."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is not None and self._holders.get(loop) is task:
            yield  # nested in this task's own write transaction
            return
        started: asyncio.Future[None] = loop.create_future()
        ended = threading.Event()

        def hold() -> None:
            try:
                loop.call_soon_threadsafe(_resolve, started)
            except RuntimeError:  # the loop is closed: nobody is waiting
                return
            while not ended.wait(1.0):  # as long as the turn lasts, unless its loop is gone
                if loop.is_closed():
                    return

        self.submit(hold)
        try:
            await started
        except BaseException:  # cancelled: the thread passes through when it gets there
            ended.set()
            raise
        if task is not None:
            self._holders[loop] = task
        try:
            yield
        finally:
            self._holders.pop(loop, None)
            ended.set()

    def close(self, last: Callable[[], object] | None = None) -> None:
        """`last` in the thread after the work queued before it, then the thread ends
        (the next write starts another, once this one's work is done)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            self._closing = thread.submit(last or _nothing)
        except RuntimeError:  # at interpreter exit: the thread has ended already
            if last is not None:
                last()
            return
        thread.shutdown(wait=False)

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """`work` in the writer's thread, in its turn (`_outcome` awaits it)."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
            if self._closing is not None:  # one line: after what the closed thread still had
                self._thread.submit(self._closing.result)
                self._closing = None
        asked = time.perf_counter()

        def timed() -> T:
            taken = time.perf_counter()
            try:
                return work()
            finally:  # counted in the thread: one writer at a time, no race
                self.turns += 1
                self.waited_seconds += taken - asked
                self.held_seconds += time.perf_counter() - taken

        return self._thread.submit(timed)


async def _outcome(done: Future[T]) -> T:
    """The result of work queued for the writer's thread. A caller cancelled before the
    work starts takes it out of the line; one cancelled while the thread runs it (at
    shutdown) still waits for the work to end."""
    try:
        return await asyncio.shield(asyncio.wrap_future(done))
    except asyncio.CancelledError:
        if not done.cancel():  # running: the caller leaves when its transaction ends
            await asyncio.wait([asyncio.wrap_future(done)])
        raise


def _nothing() -> None:
    return None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # not cancelled meanwhile
        future.set_result(None)


class SQLiteSessions(async_sessionmaker[AsyncSession]):
    """Sessions whose `begin()` (a write transaction) first takes the writer's turn, and
    `write` for the hot writes: a whole transaction in the writer's thread."""

    def __init__(self, engine: AsyncEngine, *, busy_timeout: float = 30, **options: Any) -> None:
        super().__init__(engine, **options)
        self.writers = WriterTurns()
        self._engine = engine
        self._busy_timeout = busy_timeout  # the writer's connection's, as the engine's
        self._writer: _SQLiteWriter | None = None
        weakref.finalize(self, _close_writer, self.writers, self.__dict__)

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
            # the writer's thread waits for this task's own transaction to end
            raise RuntimeError("write() inside a write transaction of the same task")
        if self._writer is None:
            url = self._engine.url.set(drivername="sqlite")
            self._writer = _SQLiteWriter(url, self._busy_timeout, self.writers)
        return await _outcome(self._writer.add(work))

    def close(self) -> None:
        """Close the writer's connection and thread once the writes queued there are done
        (the engine's own connections are the engine's: `dispose()` it). A write after
        this opens them again."""
        writer, self._writer = self._writer, None
        self.writers.close(writer.close if writer is not None else None)


def _close_writer(writers: WriterTurns, state: dict[str, Any]) -> None:
    writer = state.get("_writer")
    writers.close(writer.close if writer is not None else None)


_Write = tuple[Callable[[Connection], Any], Future[Any]]  # a hot write and its outcome


class _SQLiteWriter:
    """A synchronous connection to the database, used in the writer's thread alone, and
    the hot writes waiting for it, committed together.

    Through the engine's aiosqlite connections every statement is a trip to the
    connection's thread and back to the event loop, and under load the way back waits
    behind every other task ready to run: a write transaction of three statements and a
    commit held the writer's turn 4-5 ms at 60 messages/s. Here the transaction runs whole
    in the thread: one trip.

    The writes that queue up while the thread is busy go in one transaction when their
    turn comes (group commit): one `BEGIN`/`COMMIT`, each a wait for the interpreter's
    lock while the models' threads hold it, for several writes. Each write still sees
    the ones before it, as alone. When one of them fails, the group is rolled back and
    the others commit without it (`_commit_group`): the failure is its own writer's.
    On `/metrics` a group is one turn.
    """

    def __init__(self, url: URL, busy_timeout: float, writers: WriterTurns) -> None:
        self._engine = create_sync_engine(
            url,
            poolclass=StaticPool,  # one connection; writes take turns, never overlap
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
        )
        event.listen(self._engine, "connect", _sqlite_pragmas)
        self._writers = writers
        self._lock = threading.Lock()
        # writes not yet taken by their turn (which is in the writer's line while any wait)
        self._waiting: list[_Write] = []

    def add(self, work: Callable[[Connection], T]) -> Future[T]:
        """`work` in a write transaction in a coming turn of the writer's thread (one turn
        in the line at a time, for every write waiting then); its outcome."""
        done: Future[T] = Future()
        with self._lock:
            queued = bool(self._waiting)
            self._waiting.append((work, done))
        if not queued:
            try:
                self._writers.submit(self._commit_waiting)
            except BaseException as error:  # no thread to run them: nobody may wait forever
                with self._lock:
                    stranded, self._waiting = self._waiting, []
                for _, waiting in stranded:
                    if waiting.set_running_or_notify_cancel():
                        waiting.set_exception(error)
                raise
        return done

    def _commit_waiting(self) -> None:
        """In the writer's thread: the writes waiting now, in one transaction."""
        with self._lock:
            taken, self._waiting = self._waiting, []
        group = [(work, done) for work, done in taken if done.set_running_or_notify_cancel()]
        try:
            self._commit_group(group)
        finally:
            for _, done in group:
                if not done.done():  # interrupted
                    done.set_exception(RuntimeError("the SQLite writer stopped"))

    def _commit_group(self, group: list[_Write]) -> None:
        """`group` in one transaction. When a write fails, the ones before it are committed
        together again, it runs alone (its error is its writer's), and the ones after it
        make the next group: a resend's duplicate among many costs three transactions,
        not one a write."""
        while len(group) > 1:
            results: list[Any] = []
            try:
                with self._engine.begin() as connection:
                    for work, _ in group:
                        results.append(work(connection))
            except Exception:
                failed = len(results)
                log.debug("write %d of a group of %d failed", failed + 1, len(group),
                          exc_info=True)  # fmt: skip
                if failed == len(group):  # the commit itself: each alone
                    break
                self._commit_group(group[:failed])
                self._alone(group[failed])
                group = group[failed + 1 :]
                continue
            for (_, done), result in zip(group, results, strict=True):
                done.set_result(result)
            return
        for write in group:
            self._alone(write)

    def _alone(self, write: _Write) -> None:
        work, done = write
        try:
            done.set_result(self.transaction(work))
        except Exception as error:
            done.set_exception(error)

    def transaction(self, work: Callable[[Connection], T]) -> T:
        with self._engine.begin() as connection:
            return work(connection)

    def close(self) -> None:
        self._engine.dispose()


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


_REPEATABLE = "REPEATABLE READ, READ ONLY"


@asynccontextmanager
async def one_snapshot(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose reads all see the database as it was at the first of them: a
    transaction that only reads, rolled back when the session closes.

    Without it each statement sees the latest commit: on SQLite Python's driver begins a
    transaction only before a write, and PostgreSQL's default isolation (read committed)
    takes a new snapshot per statement. A page built from several reads (a console's
    queue: previews, then unread counts) could pair a new count with an old preview.
    The objects read stay readable after it.
    """
    async with sessions() as session:  # closing it rolls back, keeping what was loaded
        if session.get_bind().dialect.name == "sqlite":
            await session.execute(text("BEGIN"))  # deferred: the snapshot is the first read's
        else:
            await session.execute(text(f"SET TRANSACTION ISOLATION LEVEL {_REPEATABLE}"))
        yield session


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
