"""Sending the outbox: every pending mail, with retries and backoff, each once.

Rows are written by `conversations.mailing` with the message they carry. A sender claims
a due row with one conditional UPDATE (so several servers never send one mail twice at
once), gives it its Message-ID, sends it over SMTP and marks it sent. An SMTP outage
leaves the row pending with its next attempt pushed back (30 s, 1 min, 2 min, … up to an
hour): mail is delayed, never dropped. A permanent refusal (5xx) marks it failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.mailing import SHOWN_STATUS
from delivery.events import (
    ConversationUpdated,
    DeliveryFrame,
    DomainEvent,
    EventBus,
    MailDelivery,
)
from delivery.tasks import Loop
from mail.compose import Thread, compose
from mail.config import MailConfig, Server
from mail.parse import clean_subject
from mail.threads import new_token
from storage.models import Conversation, MailMessage, Message, User

log = logging.getLogger(__name__)

Send = Callable[[EmailMessage], Awaitable[None]]
LEASE = timedelta(minutes=5)  # a claimed row whose sender died is tried again after this


class PermanentFailure(Exception):
    """The server refused the mail for good (5xx): retrying cannot help."""


def smtp_sender(server: Server, timeout: float = 30.0) -> Send:
    """Send through an SMTP server with aiosmtplib."""

    async def send(message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.user or None,
                password=server.password or None,
                use_tls=server.security == "ssl",
                start_tls=server.security == "starttls",
                timeout=timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise

    return send


class Outbox:
    """Sends pending mail in the background, and when woken by a new message."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: MailConfig,
        send: Send | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.bus = bus  # tells agents' consoles the delivery state of each mail
        self._send = send or (smtp_sender(config.smtp) if config.smtp else None)
        self._wake = asyncio.Event()
        self._loop: Loop[None] | None = None

    def start(self) -> None:
        # stopped between passes, never in the middle of one (delivery.tasks.Loop)
        self._loop = Loop(self._next, self._pass, "sending the outbox (tried again later)")

    async def close(self) -> None:
        if self._loop is not None:
            await self._loop.stop()

    async def on_event(self, event: DomainEvent) -> None:
        """A bot or agent message may have queued a mail: look now, not at the next poll."""
        frame: Mapping[str, Any] = event.frame if isinstance(event, ConversationUpdated) else {}
        if frame.get("type") == "message" and frame.get("role") in ("bot", "agent"):
            self._wake.set()
            assert isinstance(event, ConversationUpdated)
            await self._announce_queued(event.conversation_id, int(frame["seq"]))

    async def _announce_queued(self, public_id: str, seq: int) -> None:
        """The message just stored carries a mail: agents see it as queued."""
        if self.bus is None:
            return
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(MailMessage.status, MailMessage.address)
                    .join(Message, Message.id == MailMessage.chat_message_id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(
                        Conversation.public_id == public_id,
                        Message.seq == seq,
                        MailMessage.direction == "out",
                    )
                )
            ).first()
        if row is not None:
            await self._announce(public_id, seq, row.status, row.address)

    async def _announce(self, public_id: str, seq: int, status: str, address: str) -> None:
        if self.bus is not None:
            frame = DeliveryFrame(
                type="delivery",
                conversation_id=public_id,
                seq=seq,
                status=SHOWN_STATUS.get(status, status),
                address=address,
            )
            await self.bus.emit(MailDelivery(public_id, frame))

    async def send_due(self) -> int:
        """Send every mail that is due now; how many went out."""
        if self._send is None:
            return 0
        sent = 0
        async with self.sessions() as session:
            due = list(
                await session.scalars(
                    select(MailMessage.id)
                    .where(
                        MailMessage.direction == "out",
                        MailMessage.status == "pending",
                        MailMessage.next_attempt_at <= datetime.now(UTC),
                    )
                    .order_by(MailMessage.id)
                    .limit(100)
                )
            )
        for mail_id in due:
            if await self._send_one(mail_id):
                sent += 1
        return sent

    async def _next(self) -> None:
        """Wait until a mail is queued, or for the next retry."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._next_wait())
        self._wake.clear()

    async def _pass(self, _: None) -> None:
        await self.send_due()

    def _next_wait(self) -> float:
        return max(1.0, min(self.config.retry_seconds, self.config.poll_seconds))

    async def _send_one(self, mail_id: int) -> bool:
        assert self._send is not None
        claimed = await self._claim(mail_id)
        if claimed is None:
            return False  # another sender has it, or it is no longer due
        message, attempts = claimed
        try:
            await self._send(message)
        except PermanentFailure as exc:
            await self._finish(mail_id, "failed", str(exc))
            log.error("mail %s refused for good: %s", message["Message-ID"], exc)
            return False
        except Exception as exc:  # an outage: try again later
            detail = f"{type(exc).__name__}: {exc}"
            if attempts >= self.config.max_attempts:
                await self._finish(mail_id, "failed", f"gave up after {attempts} tries: {detail}")
                log.error("mail %s: gave up after %d tries: %s", mail_id, attempts, detail)
            else:
                delay = min(self.config.retry_seconds * 2 ** (attempts - 1), 3600.0)
                await self._retry_later(mail_id, delay, detail)
                log.warning("mail %s not sent (%s); next try in %.0f s", mail_id, detail, delay)
            return False
        await self._finish(mail_id, "sent", None)
        log.info("mail %s sent to %s", message["Message-ID"], message["To"])
        return True

    async def _claim(self, mail_id: int) -> tuple[EmailMessage, int] | None:
        """Take a due row for a while and build its mail (in one transaction)."""
        now = datetime.now(UTC)
        async with self.sessions.begin() as session:
            changed = await session.execute(
                update(MailMessage)
                .where(
                    MailMessage.id == mail_id,
                    MailMessage.status == "pending",
                    MailMessage.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + LEASE, attempts=MailMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = await session.get_one(MailMessage, mail_id, populate_existing=True)
            if row.message_id is None:  # kept across retries: the receiver can dedupe
                row.message_id = f"<{uuid.uuid4().hex}@{self.config.domain}>"
            assert row.conversation_id is not None and row.chat_message_id is not None
            conversation = await session.get_one(Conversation, row.conversation_id)
            if conversation.mail_token is None:  # a chat's first mail: its reply address
                conversation.mail_token = new_token()
            message = await session.get_one(Message, row.chat_message_id)
            team = None
            if message.author_id is not None:
                author = await session.get(User, message.author_id)
                team = author.team if author is not None else None
            thread = await _thread(session, conversation.id, row.id)
            row.subject = (thread.subject or "")[:1000]
            mail = compose(
                self.config,
                conversation,
                message,
                to=row.address,
                message_id=row.message_id,
                thread=thread,
                team=team,
            )
            return mail, row.attempts

    async def _retry_later(self, mail_id: int, delay: float, detail: str) -> None:
        async with self.sessions.begin() as session:
            row = await session.get_one(MailMessage, mail_id)
            row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            row.detail = detail[:1000]

    async def _finish(self, mail_id: int, status: str, detail: str | None) -> None:
        async with self.sessions.begin() as session:
            row = await session.get_one(MailMessage, mail_id)
            row.status = status
            row.detail = detail[:1000] if detail else None
            row.next_attempt_at = None
            if status == "sent":
                row.sent_at = datetime.now(UTC)
            assert row.conversation_id is not None and row.chat_message_id is not None
            conversation = await session.get_one(Conversation, row.conversation_id)
            message = await session.get_one(Message, row.chat_message_id)
            public_id, seq, address = conversation.public_id, message.seq, row.address
        await self._announce(public_id, seq, status, address)


async def _thread(session: AsyncSession, conversation_id: int, before_id: int) -> Thread:
    """The subject and Message-IDs our mail continues: the conversation's mail so far."""
    rows = list(
        await session.scalars(
            select(MailMessage)
            .where(
                MailMessage.conversation_id == conversation_id,
                MailMessage.id < before_id,
                MailMessage.message_id.is_not(None),
                (MailMessage.direction == "in") | (MailMessage.status == "sent"),
            )
            .order_by(MailMessage.id)
        )
    )
    incoming = [r for r in rows if r.direction == "in"]
    subject = clean_subject(incoming[0].subject) if incoming else ""
    last_in = incoming[-1].message_id if incoming else None
    return Thread(subject, last_in, tuple(r.message_id for r in rows if r.message_id))
