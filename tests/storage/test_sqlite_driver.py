"""The SQLite engine makes one trip to its connection's thread per statement, and still
behaves as SQLAlchemy's aiosqlite does: rows, counts, new ids, errors, streams."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sqlite_driver
from storage.engine import create_engine

pytestmark = pytest.mark.anyio

PARENTS = Table(
    "parents", MetaData(), Column("id", Integer, primary_key=True), Column("name", String)
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
        )
        await connection.execute(
            text(
                "CREATE TABLE children (id INTEGER PRIMARY KEY, "
                "parent_id INTEGER NOT NULL REFERENCES parents(id), n INTEGER)"
            )
        )
    yield engine
    await engine.dispose()


async def test_the_engine_uses_one_trip_connections(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.OneTripConnection)
        # the URL's options still reach sqlite3, and the engine's pragmas still run
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_one_trip_per_statement(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    trips = 0
    run = sqlite_driver.OneTripConnection._execute

    async def counted(self: sqlite_driver.OneTripConnection, *args: object) -> object:
        nonlocal trips
        trips += 1
        return await run(self, *args)

    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the connection is open
        monkeypatch.setattr(sqlite_driver.OneTripConnection, "_execute", counted)
        rows = (await connection.execute(text("SELECT 1 UNION ALL SELECT 2"))).all()
        assert [tuple(r) for r in rows] == [(1,), (2,)]
        assert trips == 1  # aiosqlite's own cursor takes four: open, execute, fetch, close


async def test_rows_counts_and_new_ids(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        first = await connection.execute(text("INSERT INTO parents (name) VALUES ('a')"))
        assert first.lastrowid == 1
        returned = await connection.execute(
            text("INSERT INTO parents (name) VALUES ('b') RETURNING id")
        )
        assert returned.scalar_one() == 2
        many = await connection.execute(
            text("INSERT INTO children (parent_id, n) VALUES (:p, :n)"),
            [{"p": 1, "n": n} for n in range(5)],
        )
        assert many.rowcount == 5
        changed = await connection.execute(text("UPDATE children SET n = n + 10 WHERE n < 3"))
        assert changed.rowcount == 3
    async with engine.connect() as connection:
        values = (await connection.execute(text("SELECT n FROM children ORDER BY n"))).scalars()
        assert list(values) == [3, 4, 10, 11, 12]
        nothing = await connection.execute(text("SELECT n FROM children WHERE n > 100"))
        assert nothing.first() is None


async def test_a_streamed_result_reads_every_row(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(PARENTS), [{"name": f"p{i}"} for i in range(250)])
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT name FROM parents ORDER BY id"))
        names = [row[0] async for row in result]
        assert names == [f"p{i}" for i in range(250)]
        partitions = await connection.stream(text("SELECT id FROM parents"))
        sizes = [len(part) async for part in partitions.partitions(100)]
        assert sizes == [100, 100, 50]


async def test_errors_reach_the_caller_and_the_connection_keeps_working(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO parents (name) VALUES ('a')"))
    with pytest.raises(IntegrityError):  # the same name twice
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO parents (name) VALUES ('b')"))
            await connection.execute(text("INSERT INTO parents (name) VALUES ('a')"))
    with pytest.raises(IntegrityError):  # foreign keys are on
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO children (parent_id) VALUES (99)"))
    async with engine.begin() as connection:  # what failed was rolled back, nothing else
        names = (await connection.execute(text("SELECT name FROM parents"))).scalars().all()
        assert names == ["a"]
        await connection.execute(update(PARENTS).values(name="c"))
        assert (await connection.execute(select(PARENTS.c.name))).scalar() == "c"


async def test_reads_cost_no_commit_and_writes_still_commit_or_roll_back(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with engine.begin() as connection:  # reads only: nothing to commit
        assert (await connection.execute(text("SELECT count(*) FROM parents"))).scalar() == 0
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO parents (name) VALUES ('kept')"))
    async with engine.connect() as connection:  # a write left open is rolled back
        await connection.execute(text("INSERT INTO parents (name) VALUES ('dropped')"))
    other = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with other.connect() as connection:  # what another connection sees
        names = (await connection.execute(text("SELECT name FROM parents"))).scalars().all()
    await other.dispose()
    assert names == ["kept"]


async def test_an_engine_dropped_without_dispose_closes_its_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dropped.sqlite'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (body TEXT)"))
        await connection.execute(text("INSERT INTO notes VALUES ('kept')"))
        raw = await connection.get_raw_connection()
        thread = raw.driver_connection._thread  # type: ignore[union-attr]
    del engine, connection, raw
    gc.collect()  # no "deleted before being closed" warning (warnings are errors here)
    thread.join(timeout=10)
    assert not thread.is_alive()  # the connection's thread ended, the database is closed
    with sqlite3.connect(tmp_path / "dropped.sqlite") as database:  # and what it wrote stays
        assert database.execute("SELECT body FROM notes").fetchall() == [("kept",)]
