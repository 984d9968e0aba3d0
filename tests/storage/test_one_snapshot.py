"""Several reads that build one page see the database at one moment, on SQLite and
PostgreSQL alike: a console must not pair a new unread count with an old preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.engine import create_engine, dispose, one_snapshot, session_factory

pytestmark = pytest.mark.anyio


async def _messages(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM messages"))).scalar_one())


async def _add_message(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await session.execute(text("INSERT INTO messages (body) VALUES ('still not here')"))


async def _reads_around_a_commit(url: str) -> tuple[int, int, int, int]:
    """(first read, second read, a plain session's second read, after): in a snapshot and
    in a plain session, a message commits between two reads."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE messages (body TEXT NOT NULL)"))
        await _add_message(sessions)
        async with one_snapshot(sessions) as session:
            first = await _messages(session)
            await _add_message(sessions)
            second = await _messages(session)
        async with sessions() as plain:
            await _messages(plain)
            await _add_message(sessions)
            plain_second = await _messages(plain)
        async with sessions() as later:
            after = await _messages(later)
        return first, second, plain_second, after
    finally:
        await dispose(engine, sessions)


async def test_sqlite_reads_in_one_snapshot_do_not_see_a_commit_between_them(
    tmp_path: Path,
) -> None:
    first, second, plain_second, after = await _reads_around_a_commit(
        f"sqlite+aiosqlite:///{tmp_path / 'snapshot.db'}"
    )
    assert (first, second) == (1, 1)
    assert plain_second == 3  # without it, the second read sees the new message
    assert after == 3  # and nothing was held back or lost


@pytest.mark.postgres
async def test_postgresql_reads_in_one_snapshot_do_not_see_a_commit_between_them(
    postgres_url: str,
) -> None:
    first, second, plain_second, after = await _reads_around_a_commit(postgres_url)
    assert (first, second) == (1, 1)
    assert plain_second == 3
    assert after == 3
