"""The customers' side on its own: a real SQLite database, the bot over a fake retriever,
a bus that records what would be delivered, and a queue that is always open."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.answer import Thresholds
from bot.policy import Bot
from bot.retriever import FakeArticle, FakeRetriever
from conversations.ports import Availability
from conversations.replies import BotReplies, RunBot
from conversations.service import ConversationService
from delivery.events import ConversationUpdated, DomainEvent, EventBus
from delivery.locks import InProcessLocks
from delivery.work import InProcessReplyQueue
from handoff.hours import BusinessHours
from storage.models import Conversation

ARTICLES = [
    FakeArticle(
        "return-item",
        "How to return an item",
        "Return an item within 30 days from your order history.",
        url="https://help.example.com/return-item",
    ),
    FakeArticle("refund-timing", "When you get your refund", "Refunds arrive in 5 days."),
]


@dataclass
class StubQueue:
    """Always one place in the queue; open, with `online` agents."""

    online: int = 1
    is_open: bool = True

    async def availability(self) -> Availability:
        hours = BusinessHours.parse("mon-fri 09:00-18:00", "Asia/Tokyo")
        now = datetime.now(UTC)
        return Availability(
            self.is_open,
            self.online,
            "mon-fri 09:00-18:00",
            next_opening=None if self.is_open else hours.next_opening(now),
            weekly=hours.spans(),
            timezone="Asia/Tokyo",
        )

    async def place(self, session: AsyncSession, conversation: Conversation) -> tuple[int, int]:
        return 1, 240


@dataclass
class Recorder:
    events: list[DomainEvent] = field(default_factory=list)

    async def __call__(self, event: DomainEvent) -> None:
        self.events.append(event)

    def frames(self, kind: str | None = None) -> list[dict[str, object]]:
        return [
            dict(e.frame)
            for e in self.events
            if isinstance(e, ConversationUpdated) and kind in (None, e.frame.get("type"))
        ]


@dataclass
class Chat:
    service: ConversationService
    recorder: Recorder
    queue: StubQueue


def make_chat(sessions: async_sessionmaker[AsyncSession], run_bot: RunBot | None = None) -> Chat:
    """The customers' side over `sessions`; `run_bot` runs the bot (in a thread by default)."""
    bus = EventBus()
    recorder = Recorder()
    bus.listen(recorder)
    locks = InProcessLocks()
    queue = StubQueue()
    bot = Bot(
        FakeRetriever(ARTICLES),
        thresholds=Thresholds(answer=0.5, suggest=0.3),
        learned_intents=False,
    )
    replies = BotReplies(sessions, bus, locks, InProcessReplyQueue(), queue, bot, run_bot=run_bot)
    bus.listen(replies.on_event)  # as app.wiring does
    return Chat(ConversationService(sessions, bus, locks, queue, replies), recorder, queue)


@pytest.fixture
def chat(sessions: async_sessionmaker[AsyncSession]) -> Chat:
    return make_chat(sessions)
