"""SQLite write transactions take turns in the process instead of meeting a locked database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.engine import SQLiteSessions, session_factory

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
