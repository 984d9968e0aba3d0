"""The e-mail channel against real servers: Debian's Dovecot as the support inbox (IMAP)
and aiosmtpd as the SMTP server our mail is handed to (it keeps what it receives), with
the customers' side, the agents' assignment and the bot over a fake retriever."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from imapclient import IMAPClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.answer import Thresholds
from bot.policy import Bot
from bot.retriever import FakeArticle, FakeRetriever
from conversations.replies import BotReplies
from conversations.service import ConversationService
from delivery.events import EventBus
from delivery.locks import InProcessLocks
from delivery.presence import InProcessPresence
from delivery.work import InProcessReplyQueue
from handoff.assignment import Assignment
from mail.channel import MailChannel
from mail.config import MailConfig, Server
from tests._dovecot import PASSWORD, DovecotServer, find_dovecot
from tests.conftest import _postgres_required
from tests.conversations.conftest import Recorder, StubQueue

SUPPORT = "support@example.com"
ARTICLES = [
    FakeArticle(
        "return-item",
        "How to return an item",
        "Return an item within 30 days from your order history.",
        url="https://help.example.com/return-item",
    ),
    FakeArticle(
        "henpin",
        "返品の方法",
        "返品 方法 注文履歴から30日以内に返品できます。",
        lang="ja",
        url="https://help.example.com/ja/henpin",
    ),
]


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    binary = find_dovecot()
    if binary is None:
        reason = "dovecot is not installed: `make mail` installs Debian's dovecot-imapd"
        if _postgres_required():
            pytest.fail(f"{reason}; CI / KAKEHASHI_REQUIRE_POSTGRES=1 require it")
        pytest.skip(reason)
    server = DovecotServer(binary, [SUPPORT])
    server.start()
    yield server
    server.remove()


class Capture:
    """aiosmtpd handler that keeps every mail it is given."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(bytes(raw), policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(message)
        self.arrived.set()
        return "250 OK"


@dataclass
class SmtpSink:
    port: int
    capture: Capture = field(default_factory=Capture)
    server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self.capture, hostname="127.0.0.1"), "127.0.0.1", self.port
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Desk:
    """Everything one support desk with an e-mail channel has."""

    channel: MailChannel
    conversations: ConversationService
    assignment: Assignment
    replies: BotReplies
    recorder: Recorder
    smtp: SmtpSink
    dovecot: DovecotServer
    sessions: async_sessionmaker[AsyncSession]

    def deliver(self, raw: bytes) -> None:
        """The customer's mail lands in the support inbox."""
        client = IMAPClient("127.0.0.1", port=self.dovecot.port, ssl=False)
        client.login(SUPPORT, PASSWORD)
        client.append("INBOX", raw)
        client.logout()

    async def fetch(self) -> None:
        """The inbox is read, the bot answers, the outbox is sent."""
        for inbox in self.channel.inboxes:
            await inbox.check()
        await self.replies.drain()
        await self.channel.outbox.send_due()

    @property
    def sent(self) -> list[EmailMessage]:
        return self.smtp.capture.mails


@pytest.fixture
async def desk(
    dovecot: DovecotServer, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Desk]:
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
    replies = BotReplies(sessions, bus, locks, InProcessReplyQueue(), queue, bot)
    conversations = ConversationService(sessions, bus, locks, queue, replies)

    async def absent(user_id: int) -> None:
        return None

    assignment = Assignment(sessions, bus, locks, InProcessPresence(60, absent))
    smtp = SmtpSink(free_port())
    await smtp.start()
    config = MailConfig(
        from_address=SUPPORT,
        from_name="Mirai Mart Support",
        smtp=Server("127.0.0.1", smtp.port, "none", name="smtp"),
        inboxes=(Server("127.0.0.1", dovecot.port, "none", SUPPORT, PASSWORD, "INBOX", "support"),),
        public_url="https://shop.example.com",
        signatures={"default": "Mirai Mart support", "billing": "Mirai Mart billing team"},
        retry_seconds=0.01,
    )
    channel = MailChannel(sessions, bus, locks, replies, config)
    desk = Desk(channel, conversations, assignment, replies, recorder, smtp, dovecot, sessions)
    yield desk
    for inbox in channel.inboxes:
        await inbox.close()
    await desk.smtp.stop()  # the one running now (a test may have restarted it)
    # the next test starts with an empty inbox
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.login(SUPPORT, PASSWORD)
    client.select_folder("INBOX")
    uids = client.search(["ALL"])
    if uids:
        client.delete_messages(uids)
        client.expunge()
    client.logout()
