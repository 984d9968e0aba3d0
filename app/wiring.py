"""The composition root's parts: which implementation of each interface, and how the
domain's services are joined. `app/main.py` calls these in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.metrics import Metrics
from app.settings import Settings
from attachments.service import Attachments
from attachments.store import DiskStore
from bot.policy import Bot
from bot.retriever import Retriever
from conversations.replies import BotReplies
from conversations.service import ConversationService
from delivery.events import EventBus
from delivery.hub import Hub, InProcessHub
from delivery.listeners import HubDelivery
from delivery.locks import InProcessLocks, Locks
from delivery.presence import InProcessPresence, PresenceStore
from delivery.redis import RedisHub, RedisLocks, RedisPresence
from delivery.work import InProcessReplyQueue, ReplyQueue
from handoff.assignment import Assignment
from handoff.config import HandoffConfig
from handoff.context import ContextPanel
from handoff.desk import AgentDesk
from handoff.hours import BusinessHours
from handoff.lineup import Lineup
from mail.channel import MailChannel
from mail.config import MailConfig, Security, Server


@dataclass(frozen=True)
class Delivery:
    """The shared-state implementations one deployment uses."""

    hub: Hub
    bus: EventBus
    locks: Locks
    work: ReplyQueue
    redis: Redis | None = None

    async def close(self) -> None:
        if isinstance(self.hub, RedisHub):
            await self.hub.close()
        if self.redis is not None:
            await self.redis.aclose()


async def build_delivery(settings: Settings) -> Delivery:
    """Redis when `KAKEHASHI_REDIS_URL` is set (several servers), else in-process (one)."""
    bus = EventBus()
    # The reply queue stays in-process either way: what makes replies survive a crash
    # and run once across servers is the pending mark in the database (see
    # conversations/replies.py), not where the job waits.
    work = InProcessReplyQueue()
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        shared = RedisHub(redis)
        await shared.start()
        bus.listen(HubDelivery(shared))
        return Delivery(shared, bus, RedisLocks(redis), work, redis)
    local = InProcessHub()
    bus.listen(HubDelivery(local))
    return Delivery(local, bus, InProcessLocks(), work)


def count_events(bus: EventBus, metrics: Metrics) -> None:
    """Metrics hear every domain event after its commit (the domain never calls them)."""
    bus.listen(metrics.on_event)


def handoff_config(settings: Settings) -> HandoffConfig:
    return HandoffConfig(
        average_handle_seconds=settings.average_handle_seconds,
        queue_aging_per_minute=settings.queue_aging_per_minute,
        sla_targets=settings.sla_targets,
        auto_assign=settings.auto_assign,
        hours_label=f"{settings.business_hours} ({settings.timezone})",
        console_waiting_shown=settings.console_waiting_shown,
    )


def build_attachments(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Attachments:
    """Attached files, kept on disk (several servers must share the folder)."""
    return Attachments(
        DiskStore(settings.attachment_dir or settings.data_dir / "attachments"),
        sessions,
        max_bytes=settings.attachment_max_bytes,
        types=settings.attachment_types,
    )


async def build_conversations(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    delivery: Delivery,
    hours: BusinessHours,
    bot: Bot,
    retriever: Retriever,
    files: Attachments | None = None,
) -> tuple[ConversationService, AgentDesk]:
    """The customers' side and the agents' side, joined through the bus and the ports."""
    bus, locks = delivery.bus, delivery.locks
    assignment: Assignment | None = None

    async def requeue(user_id: int) -> None:  # an agent's grace period ran out
        assert assignment is not None
        await assignment.requeue_all(user_id)

    presence: PresenceStore
    if delivery.redis is not None:
        presence = RedisPresence(delivery.redis, settings.agent_grace_seconds, requeue)
        await presence.start()
    else:
        presence = InProcessPresence(settings.agent_grace_seconds, on_absent=requeue)
    assignment = Assignment(sessions, bus, locks, presence)
    lineup = Lineup(sessions, bus, presence, hours, handoff_config(settings), assignment)
    bus.listen(lineup.on_event)
    replies = BotReplies(sessions, bus, locks, delivery.work, lineup, bot)
    bus.listen(replies.on_event)
    conversations = ConversationService(sessions, bus, locks, lineup, replies)
    desk = AgentDesk(bus, presence, lineup, assignment, ContextPanel(sessions, retriever), files)
    return conversations, desk


def mail_config(settings: Settings) -> MailConfig | None:
    """The e-mail channel's configuration, or None when KAKEHASHI_MAIL_FROM is unset."""
    if not settings.mail_from:
        return None
    inboxes = []
    if settings.imap_host:
        inboxes.append(
            Server(
                settings.imap_host,
                settings.imap_port,
                settings.imap_security,
                settings.imap_user,
                settings.imap_password,
                settings.imap_folder,
                name=settings.imap_user or settings.imap_host,
            )
        )
    inboxes += [imap_url(url) for url in settings.imap_more_inboxes]
    smtp = (
        Server(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_user,
            settings.smtp_password,
            name="smtp",
        )
        if settings.smtp_host
        else None
    )
    return MailConfig(
        from_address=settings.mail_from,
        from_name=settings.mail_from_name,
        smtp=smtp,
        inboxes=tuple(inboxes),
        public_url=settings.mail_public_url,
        signatures=dict(settings.mail_signatures),
        max_bytes=settings.mail_max_bytes,
        poll_seconds=settings.imap_poll_seconds,
        retry_seconds=settings.mail_retry_seconds,
    )


def imap_url(url: str) -> Server:
    """imaps://user:password@host:993/INBOX → an inbox (imap+starttls://, imap:// too)."""
    parts = urlsplit(url)
    schemes: dict[str, Security] = {"imaps": "ssl", "imap+starttls": "starttls"}
    security = schemes.get(parts.scheme, "none")
    user = unquote(parts.username) if parts.username else None
    return Server(
        parts.hostname or "localhost",
        parts.port or (993 if security == "ssl" else 143),
        security,
        user,
        unquote(parts.password) if parts.password else None,
        unquote(parts.path.lstrip("/")) or "INBOX",
        name=user or parts.hostname or "inbox",
    )


def build_mail(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    delivery: Delivery,
    conversations: ConversationService,
) -> MailChannel | None:
    """The e-mail channel, when configured (docs/email.md)."""
    config = mail_config(settings)
    if config is None:
        return None
    listen = (
        (settings.smtp_listen_host, settings.smtp_listen_port)
        if settings.smtp_listen_port
        else None
    )
    return MailChannel(
        sessions, delivery.bus, delivery.locks, conversations.replies, config, listen=listen
    )
