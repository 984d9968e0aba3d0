"""The heavy objects of a running service, created once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.agents import AgentService
from app.conversations import ConversationService
from app.hub import Hub
from app.settings import Settings
from bot.policy import Bot
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
    conversations: ConversationService
    agents: AgentService
    articles: ArticleService
    reindexer: Reindexer

    @property
    def gaps(self) -> GapService:
        return GapService(self.sessions)
