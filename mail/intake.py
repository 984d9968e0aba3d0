"""Taking in one received e-mail: the domain action behind every inbox.

Stored once per Message-ID (a mail fetched twice, or delivered by IMAP and SMTP, is taken
once); robots' mail is stored as ignored and never answered; a customer's mail becomes a
customer message in its conversation, in one transaction with its record. After the
commit the bot is asked (when it owns the conversation) or the agents' queue refreshed.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from email import policy

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations import transcript
from conversations.frames import message_frame
from conversations.mailing import EMAIL
from conversations.replies import BotReplies
from conversations.service import hash_token
from delivery.events import ConversationUpdated, EventBus, QueueChanged
from delivery.locks import Locks
from handoff.states import ConversationState
from mail.parse import InboundMail, clean_subject, parse
from mail.robots import robot_reason
from mail.threads import find_conversation, new_token
from storage.models import Conversation, MailMessage

log = logging.getLogger(__name__)

MAX_TEXT = 20_000  # characters of one mail kept in the transcript


@dataclass(frozen=True)
class Intake:
    """What became of one mail."""

    status: str
    """accepted, duplicate, ignored or rejected."""
    conversation_id: str | None = None
    detail: str = ""


class MailIntake:
    """Turns received mail into customer messages."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        locks: Locks,
        replies: BotReplies,
        own_addresses: Collection[str],
        max_bytes: int,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.locks = locks
        self.replies = replies
        self.own_addresses = frozenset(a.lower() for a in own_addresses)
        self.max_bytes = max_bytes

    async def accept(self, raw: bytes, mailbox: str = "inbox", size: int | None = None) -> Intake:
        """Take one mail as received (RFC 5322 bytes) from `mailbox`.

        Args:
            raw: The mail, or only its headers when it is over the size limit.
            mailbox: The inbox's name, for the record and the logs.
            size: Its whole size, when `raw` holds only the headers.
        """
        size = len(raw) if size is None else size
        if size > self.max_bytes:
            return await self._too_large(raw, mailbox, size)
        try:
            mail = parse(raw)
        except Exception as exc:  # one bad mail (MalformedMail or worse) never stops the inbox
            log.warning("mail from %s: unreadable, dropped (%s)", mailbox, exc)
            return Intake("rejected", detail=f"unreadable: {exc}")
        message_id = mail.message_id or _stand_in_id(raw)
        async with self.sessions() as session:
            if await _seen(session, message_id):
                log.info("mail %s from %s: already taken, skipped", message_id, mailbox)
                return Intake("duplicate")
        reason = robot_reason(mail, self.own_addresses)
        if reason is not None:
            log.info("mail %s from %s: not answered: %s", message_id, mail.sender, reason)
            await self._record_ignored(message_id, mail.sender, mail.subject, mailbox, reason)
            return Intake("ignored", detail=reason)
        try:
            return await self._store(mail, message_id, mailbox)
        except IntegrityError:  # another fetcher stored the same Message-ID meanwhile
            return Intake("duplicate")

    async def _store(self, mail: InboundMail, message_id: str, mailbox: str) -> Intake:
        async with self.sessions() as session:
            found = await find_conversation(session, mail)
            lock_key = found.public_id if found is not None else f"mail:{message_id}"
        if mail.attachments:
            names = ", ".join(f"{a.filename} ({a.size} bytes)" for a in mail.attachments)
            log.info("mail %s: attachments listed and dropped: %s", message_id, names)
        async with self.locks.hold(lock_key), self.sessions.begin() as session:
            conversation = (
                await session.get(Conversation, found.id, with_for_update=True)
                if found is not None
                else None
            )
            text = _text(mail)
            question = text
            if conversation is None or conversation.state == ConversationState.CLOSED:
                conversation = await _start(session, mail, conversation)
                subject = clean_subject(mail.subject)
                if subject and subject not in text:
                    question = f"{subject}\n{text}"  # the subject is often the question
            bot_owns_it = conversation.state == ConversationState.BOT
            message = await transcript.append(
                session,
                conversation,
                role="customer",
                kind="text",
                text=text,
                client_id=f"mail:{hashlib.sha256(message_id.encode()).hexdigest()[:40]}",
                reply_pending=bot_owns_it,
                meta={
                    "channel": EMAIL,
                    "subject": mail.subject,
                    "attachments": [vars(a) for a in mail.attachments],
                },
            )
            session.add(
                MailMessage(
                    direction="in",
                    message_id=message_id,
                    conversation_id=conversation.id,
                    chat_message_id=message.id,
                    mailbox=mailbox,
                    address=mail.sender[:320],
                    subject=mail.subject[:1000],
                    status="accepted",
                    attempts=0,
                )
            )
            public_id, conversation_id = conversation.public_id, conversation.id
            frame = message_frame(message)
        log.info("mail %s from %s: into conversation %s", message_id, mail.sender, public_id)
        await self.bus.emit(ConversationUpdated(public_id, frame))
        if bot_owns_it:
            self.replies.enqueue(conversation_id, public_id, message.seq, question)
        else:  # queued or with a person already: the consoles' previews, nobody's place
            await self.bus.emit(QueueChanged(places=False))
        return Intake("accepted", public_id)

    async def _record_ignored(
        self, message_id: str, sender: str, subject: str, mailbox: str, reason: str
    ) -> None:
        try:
            async with self.sessions.begin() as session:
                session.add(
                    MailMessage(
                        direction="in",
                        message_id=message_id,
                        mailbox=mailbox,
                        address=sender[:320],
                        subject=subject[:1000],
                        status="ignored",
                        detail=reason[:1000],
                        attempts=0,
                    )
                )
        except IntegrityError:
            pass  # recorded already

    async def _too_large(self, raw: bytes, mailbox: str, size: int) -> Intake:
        headers = email.message_from_bytes(raw[:65536], policy=policy.compat32)
        message_id = str(headers.get("message-id") or _stand_in_id(raw)).strip()
        sender = email.utils.parseaddr(str(headers.get("from") or ""))[1].lower()
        reason = f"larger than the limit of {self.max_bytes} bytes ({size} bytes)"
        log.warning("mail %s from %s: not taken: %s", message_id, sender, reason)
        async with self.sessions() as session:
            if await _seen(session, message_id):
                return Intake("duplicate")
        await self._record_ignored(message_id, sender, "", mailbox, reason)
        return Intake("ignored", detail=reason)


async def _start(
    session: AsyncSession, mail: InboundMail, previous: Conversation | None
) -> Conversation:
    """A new e-mail conversation (continuing `previous` when that one was closed)."""
    conversation = Conversation(
        public_id=str(uuid.uuid4()),
        # e-mail customers have no widget token; the link in our mails uses mail_token
        token_hash=hash_token(new_token() + new_token()),
        state=ConversationState.BOT.value,
        lang=previous.lang if previous is not None else "en",
        channel=EMAIL,
        customer_email=mail.sender[:320],
        customer_name=(mail.sender_name or None) and mail.sender_name[:200],
        mail_token=new_token(),
        previous_id=previous.id if previous is not None else None,
        last_seq=0,
        consecutive_misses=0,
    )
    session.add(conversation)
    await session.flush()
    return conversation


def _text(mail: InboundMail) -> str:
    text = mail.text.strip() or clean_subject(mail.subject) or "(empty mail)"
    return text[:MAX_TEXT]


def _stand_in_id(raw: bytes) -> str:
    """A Message-ID for mail that has none, the same each time the mail is fetched."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.kakehashi>"


async def _seen(session: AsyncSession, message_id: str) -> bool:
    return (
        await session.scalar(select(MailMessage.id).where(MailMessage.message_id == message_id))
        is not None
    )
