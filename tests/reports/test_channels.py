"""Conversations by channel: the widget's chats and the mail that came in, in the report,
its CSV and the reports page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.build import build_report
from reports.export import csv_table
from reports.periods import Period
from storage.models import Conversation, Handoff, Message

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def conversation(channel: str, handed: bool) -> Conversation:
    row = Conversation(
        public_id=str(uuid.uuid4()),
        token_hash=uuid.uuid4().hex,
        created_at=START,
        channel=channel,
        customer_email="hanako@customer.example" if channel == "email" else None,
        escalated_at=START + timedelta(minutes=1) if handed else None,
    )
    row.messages = [Message(seq=1, role="customer", text="Where is my order?", created_at=START)]
    if handed:
        row.handoffs = [Handoff(reason="low_confidence", created_at=START)]
    return row


@pytest.mark.anyio
async def test_the_report_counts_conversations_by_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        session.add_all(
            [
                conversation("email", handed=True),
                conversation("chat", handed=False),
                conversation("email", handed=False),
                conversation("chat", handed=True),
                conversation("chat", handed=False),
            ]
        )

    report = await build_report(sessions, Period(date(2026, 3, 1), date(2026, 3, 2), "UTC"))
    assert [c.model_dump() for c in report.channels] == [
        {"channel": "chat", "conversations": 3, "bot_only": 2, "handed_off": 1},
        {"channel": "email", "conversations": 2, "bot_only": 1, "handed_off": 1},
    ]
    assert csv_table(report, "channels").splitlines() == [
        "channel,conversations,bot_only,handoffs",
        "chat,3,2,1",
        "email,2,1,1",
    ]

    empty = await build_report(sessions, Period(date(2026, 4, 1), date(2026, 4, 2), "UTC"))
    assert empty.channels == []
