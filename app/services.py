"""The heavy objects of a running service, created once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.settings import Settings
from attachments.service import Attachments
from bot.policy import Bot
from conversations.service import ConversationService
from delivery.events import EventBus
from delivery.hub import Hub
from delivery.locks import Locks
from delivery.work import ReplyQueue
from handoff.canned import CannedResponses
from handoff.desk import AgentDesk
from knowledge.articles import ArticleService
from knowledge.gaps import GapService
from knowledge.reindex import Reindexer
from retrieval.hybrid import HybridRetriever


@dataclass
class Services:
    settings: Settings
    retriever: HybridRetriever
    bot: Bot
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    hub: Hub
    bus: EventBus
    locks: Locks
    work: ReplyQueue
    conversations: ConversationService
    agents: AgentDesk
    canned: CannedResponses
    articles: ArticleService
    reindexer: Reindexer
    attachments: Attachments

    @property
    def gaps(self) -> GapService:
        return GapService(self.sessions)
