"""A waiting customer's place is counted by the database, and it is the place the whole
queue, read and sorted, gives them: on SQLite and on PostgreSQL, whatever the mix."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff import _rows
from handoff.queue import QueueEntry, ordered, served_before
from handoff.reasons import HandoffReason
from storage.engine import create_engine, migrate, session_factory
from storage.models import Conversation

pytestmark = pytest.mark.anyio

REASONS = [*HandoffReason, None, "a_reason_from_an_older_version"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield session_factory(engine)
    await engine.dispose()


async def waiting_queue(
    sessions: async_sessionmaker[AsyncSession], now: datetime, n: int, seed: int
) -> list[Conversation]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        minutes = rng.choice([0, 1, 5, 20, 30, 45]) + rng.random()
        rows.append(
            Conversation(
                public_id=str(uuid.uuid4()),
                token_hash=f"{seed}-{i}",
                state="waiting",
                escalation_reason=rng.choice(REASONS),
                # a row without the time counts as escalated now (one: a tie has no order)
                escalated_at=None if i == 0 else now - timedelta(minutes=minutes),
            )
        )
    rows.append(Conversation(public_id=str(uuid.uuid4()), token_hash=f"{seed}-bot"))  # no
    async with sessions.begin() as session:
        session.add_all(rows)
    return rows[:-1]


@pytest.mark.parametrize("aging", [10.0, 0.0, 0.25, 1e-12])
async def test_the_counted_place_is_the_sorted_place(
    database: async_sessionmaker[AsyncSession], aging: float
) -> None:
    now = datetime.now(UTC)
    queue = await waiting_queue(database, now, 60, seed=int(aging * 100))
    entries = [
        QueueEntry(
            c.public_id,
            c.escalation_reason or HandoffReason.CUSTOMER_REQUEST,
            c.escalated_at or now,
        )
        for c in queue
    ]
    expected = {e.conversation_id: i for i, e in enumerate(ordered(entries, now, aging), 1)}
    async with database() as session:
        for e in entries:
            cutoffs = served_before(e.reason, e.escalated_at, aging)
            ahead = await _rows.waiting_ahead(session, e.conversation_id, cutoffs, now)
            assert ahead + 1 == expected[e.conversation_id], e
