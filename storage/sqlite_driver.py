"""aiosqlite with one trip to the connection's thread per statement.

SQLAlchemy's aiosqlite adapter asks aiosqlite for a cursor, runs the statement, fetches
its rows and closes the cursor: four trips to aiosqlite's thread (a queue put, a thread
wake-up, a future resolved on the loop), about 0.09 ms each on an idle machine and far
more when the bot's threads are busy. A reply takes a dozen statements. Here a cursor is
only a handle on the loop's side: `execute` opens the sqlite3 cursor, runs the statement,
reads every row and closes it in one trip, and the rest of SQLAlchemy's calls are
answered from what that trip brought back. A commit or rollback with no transaction open
(after reads only; the pool's reset of every connection it takes back) makes no trip.

Every row is read at once, so a "server-side" (streamed) result is buffered too; nothing
here streams from SQLite.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

import aiosqlite
from aiosqlite.core import _STOP_RUNNING_SENTINEL

Description = tuple[tuple[Any, ...], ...] | None


class _Done:
    """What one statement left behind: its rows and the cursor's attributes."""

    __slots__ = ("description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor, rows: list[Any]) -> None:
        self.description: Description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self.rows = rows


def _run(connection: sqlite3.Connection, call: Callable[[sqlite3.Cursor], object]) -> _Done:
    """In the connection's thread: a cursor, the statement, all its rows, closed."""
    cursor = connection.cursor()
    try:
        call(cursor)
        rows = cursor.fetchall() if cursor.description else []
        return _Done(cursor, rows)
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's `Cursor` SQLAlchemy uses, one thread trip per statement."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def __await__(self) -> Generator[Any, None, OneTripCursor]:
        yield from ()
        return self

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return await self._trip(lambda cursor: cursor.execute(sql, parameters))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Any:
        return await self._trip(lambda cursor: cursor.executemany(sql, parameters))

    async def _trip(self, call: Callable[[sqlite3.Cursor], object]) -> OneTripCursor:
        done = await self._connection.run_in_thread(call)
        self._rows = deque(done.rows)
        self.description = done.description
        self.rowcount = done.rowcount
        self.lastrowid = done.lastrowid
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip per statement."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def commit(self) -> None:
        if self._idle():
            return  # only reads since the last commit: nothing to commit, no trip
        await super().commit()

    async def rollback(self) -> None:
        if self._idle():
            return  # SQLAlchemy's pool resets every connection it takes back: no trip
        await super().rollback()

    def __del__(self) -> None:
        """Dropped while still open (an engine collected without `dispose()`, its pooled
        connections with it): close the database in the connection's own thread and let
        the thread end, rather than leave both open for the life of the process.

        aiosqlite's own finalizer only warns; its `stop()` wants an event loop, and none
        may be current while the garbage collector runs.
        """
        if self._connection is not None:
            self._tx.put_nowait((None, self._close_and_stop))

    def _close_and_stop(self) -> object:
        """In the connection's thread: close, then end the thread's loop."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._running = False
        return _STOP_RUNNING_SENTINEL

    def _idle(self) -> bool:
        """No transaction open (sqlite3 opens one before a write, not before a read).

        Read on the loop's side: SQLAlchemy awaits each statement before the next call,
        so nothing runs in the thread meanwhile.
        """
        connection = self._connection
        return connection is not None and not connection.in_transaction

    async def run_in_thread(self, call: Callable[[sqlite3.Cursor], object]) -> _Done:
        """Run `call` on a fresh cursor in the connection's thread; what it left."""
        done: _Done = await self._execute(_run, self._conn, call)  # type: ignore[no-untyped-call]
        return done


async def connect(database: str, **options: Any) -> OneTripConnection:
    """A started `OneTripConnection` (SQLAlchemy's `async_creator_fn`: it passes the
    database and the options it read from the URL and `connect_args`)."""
    connection = OneTripConnection(lambda: sqlite3.connect(database, **options), 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
    await connection
    return connection
