"""The heavy objects of a running service, created once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.agents import AgentService
from app.articles import ArticleService
from app.conversations import ConversationService
from app.hub import Hub
from app.reindex import Reindexer
from app.settings import Settings
from bot.policy import Bot
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
