"""The e-mail channel of one server: its inboxes, the SMTP receiver and the outbox."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.replies import BotReplies
from delivery.events import EventBus
from delivery.locks import Locks
from mail.config import MailConfig
from mail.imap import ImapInbox
from mail.intake import MailIntake
from mail.outbox import Outbox, Send
from mail.smtp_server import SmtpReceiver

log = logging.getLogger(__name__)


class MailChannel:
    """Everything e-mail, started and stopped with the server."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        locks: Locks,
        replies: BotReplies,
        config: MailConfig,
        *,
        send: Send | None = None,
        listen: tuple[str, int] | None = None,
    ) -> None:
        self.config = config
        own = {config.from_address.lower(), *(s.user.lower() for s in config.inboxes if s.user)}
        own.update(a.lower() for a in config.own_addresses)
        self.intake = MailIntake(sessions, bus, locks, replies, own, config.max_bytes)
        self.outbox = Outbox(sessions, config, send, bus)
        bus.listen(self.outbox.on_event)
        self.inboxes = [
            ImapInbox(
                server,
                self.intake.accept,
                max_bytes=config.max_bytes,
                poll_seconds=config.poll_seconds,
            )
            for server in config.inboxes
        ]
        self.receiver = (
            SmtpReceiver(
                self.intake.accept, listen[0], listen[1], {config.domain}, config.max_bytes
            )
            if listen is not None
            else None
        )

    async def start(self) -> None:
        self.outbox.start()
        for inbox in self.inboxes:
            inbox.start()
        if self.receiver is not None:
            await self.receiver.start()
        if self.config.smtp is None:
            log.warning("mail: no KAKEHASHI_SMTP_HOST: outgoing mail waits in the outbox")

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.close()
        for inbox in self.inboxes:
            await inbox.close()
        await self.outbox.close()
