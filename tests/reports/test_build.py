"""Building a report from the database on its own (SQLite), without the web app."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.build import build_report, durations, percentile
from reports.periods import Period
from storage.models import Conversation, Handoff, Message, User

Sessions = async_sessionmaker[AsyncSession]
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_percentiles_interpolate_like_postgresql() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert percentile([5.0], 0.9) == 5.0
    assert durations([None, 30.0, 10.0, 20.0]).model_dump() == {
        "count": 3,
        "median": 20.0,
        "p90": 28.0,
    }
    assert durations([None]).model_dump() == {"count": 0, "median": None, "p90": None}


@pytest.mark.anyio
async def test_a_report_from_rows_in_the_database(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        aiko = User(username="aiko", display_name="Aiko", role="agent", password_hash="x")
        ken = User(username="ken", display_name="Ken", role="agent", password_hash="x")
        session.add_all([aiko, ken])
        await session.flush()
        escalated = START + timedelta(minutes=1)
        handed = Conversation(
            public_id=str(uuid.uuid4()),
            token_hash=uuid.uuid4().hex,
            created_at=START,
            escalated_at=escalated,
            claimed_at=escalated + timedelta(seconds=30),
            first_response_at=escalated + timedelta(seconds=90),
            closed_at=START + timedelta(hours=1),
            agent_id=ken.id,  # handed on to Ken, but Aiko answered first
            outcome="resolved",
            csat_score=5,
            csat_comment="Quick!",
            rated_at=START + timedelta(hours=2),
        )
        handed.handoffs = [Handoff(reason="frustration", created_at=escalated)]
        handed.messages = [
            Message(seq=1, role="customer", text="Where is my order?", created_at=START),
            Message(seq=2, role="agent", text="On its way", author_id=aiko.id, created_at=START),
            Message(seq=3, role="agent", text="Tracking: 123", author_id=ken.id, created_at=START),
        ]
        bot_only = Conversation(
            public_id=str(uuid.uuid4()), token_hash=uuid.uuid4().hex, created_at=START
        )
        bot_only.messages = [
            Message(seq=1, role="customer", text="Returns?", created_at=START),
            Message(
                seq=2,
                role="bot",
                kind="answer",
                text="Within 30 days",
                helpful=True,
                citations=[{"article_id": "returns", "title": "Returns", "url": None}],
                created_at=START,
            ),
        ]
        silent = Conversation(  # the widget opened and closed: not a conversation
            public_id=str(uuid.uuid4()), token_hash=uuid.uuid4().hex, created_at=START
        )
        session.add_all([handed, bot_only, silent])

    report = await build_report(sessions, Period(date(2026, 3, 1), date(2026, 3, 2), "UTC"))
    assert (report.conversations, report.bot_only, report.handed_off) == (2, 1, 1)
    assert report.automation_rate == 0.5 and report.handoff_reasons == {"frustration": 1}
    assert (report.waiting.median, report.first_response.median) == (30.0, 60.0)
    assert report.csat.comments[0].comment == "Quick!"
    assert report.csat.comments[0].rated_at == START + timedelta(hours=2), "aware, in UTC"
    assert [(a.name, a.conversations, a.first_response_median) for a in report.agents] == [
        ("Aiko", 1, 60.0),
        ("Ken", 1, None),
    ]
    assert [(c.article_id, c.citations) for c in report.bot_answers.top_articles] == [
        ("returns", 1)
    ]
    assert [(d.day, d.conversations, d.handoffs) for d in report.days] == [(date(2026, 3, 1), 2, 1)]
