"""The e-mail channel end to end: customers' mail in through Dovecot (IMAP), our replies
out through a real SMTP server, the bot and agents in between."""

from __future__ import annotations

import asyncio
from email.header import Header

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from delivery.events import QueueChanged
from handoff.states import ConversationState
from mail.config import Server
from mail.imap import ImapInbox
from mail.parse import parse
from storage.models import Conversation, MailMessage, Message, User
from tests.mail.conftest import SUPPORT, Desk, SmtpSink, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.mail]


def mail(
    body: str,
    *,
    subject: str = "Question",
    message_id: str = "<q1@customer.example>",
    sender: str = "Hanako Yamada <hanako@customer.example>",
    to: str = SUPPORT,
    charset: str = "utf-8",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A customer's mail as it arrives; the subject MIME-encoded in `charset`."""
    encoded_subject = Header(subject, charset).encode()
    head = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {encoded_subject}",
        f"Message-ID: {message_id}",
        "Date: Tue, 01 Dec 2026 10:00:00 +0900",
        "MIME-Version: 1.0",
        f'Content-Type: text/plain; charset="{charset}"',
        "Content-Transfer-Encoding: 7bit"
        if charset == "iso-2022-jp"
        else "Content-Transfer-Encoding: 8bit",
    ]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body.replace("\n", "\r\n").encode(charset)


async def user(desk: Desk, name: str = "aiko", team: str = "support") -> int:
    async with desk.sessions.begin() as session:
        agent = User(
            username=name, display_name=name.title(), role="agent", password_hash="x", team=team
        )
        session.add(agent)
        await session.flush()
        return agent.id


async def conversation(desk: Desk, email: str) -> Conversation:
    async with desk.sessions() as session:
        found = await session.scalar(
            select(Conversation)
            .where((Conversation.customer_email == email) | (Conversation.contact_email == email))
            .order_by(Conversation.id.desc())
        )
        assert found is not None
        return found


async def messages(desk: Desk, conversation_id: int) -> list[Message]:
    async with desk.sessions() as session:
        return list(
            await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.seq)
            )
        )


def text_of(sent: object) -> str:
    body = sent.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return str(body.get_content())


async def test_japanese_iso_2022_jp_question_is_answered_by_mail_with_its_source(
    desk: Desk,
) -> None:
    desk.deliver(mail("返品 方法\n\nよろしくお願いします。", subject="返品", charset="iso-2022-jp"))
    await desk.fetch()

    assert len(desk.sent) == 1
    answer = desk.sent[0]
    assert answer["To"] == "hanako@customer.example"
    assert answer["Subject"] == "Re: 返品"
    assert answer["In-Reply-To"] == "<q1@customer.example>"
    assert answer["Auto-Submitted"] == "auto-replied"  # robots must not answer it
    text = text_of(answer)
    assert "注文履歴から30日以内に返品できます" in text
    assert "https://help.example.com/ja/henpin" in text  # the citation, as a link
    assert answer.get_body(preferencelist=("html",)) is not None
    found = await conversation(desk, "hanako@customer.example")
    assert found.channel == "email"
    assert found.state == ConversationState.BOT
    assert answer["Reply-To"] == f"support+{found.mail_token}@example.com"


async def test_unanswerable_mail_waits_for_an_agent_whose_reply_threads_back(desk: Desk) -> None:
    desk.deliver(mail("My parcel arrived soaking wet and smells of fish.", subject="Wet parcel"))
    await desk.fetch()
    found = await conversation(desk, "hanako@customer.example")
    assert found.state == ConversationState.WAITING  # no guessing by mail: a person answers
    assert found.escalation_reason == "low_confidence"
    assert len(desk.sent) == 1  # "a member of our team will write back"
    assert desk.sent[0]["Auto-Submitted"] == "auto-replied"
    # the agents' queues hear of it: a new customer waits
    assert QueueChanged(places=True) in desk.recorder.events

    agent = await user(desk, team="billing")
    await desk.assignment.claim(agent, found.public_id)
    await desk.assignment.note(agent, found.public_id, "Internal: check the courier")
    await desk.assignment.reply(agent, found.public_id, "c1", "Sorry! A new one is on its way.")
    await desk.channel.outbox.send_due()
    assert len(desk.sent) == 2
    reply = desk.sent[1]
    text = text_of(reply)
    assert "A new one is on its way" in text
    assert "Mirai Mart billing team" in text  # the team's signature
    assert "courier" not in text  # internal notes never go out
    assert reply["Auto-Submitted"] is None
    assert reply["Subject"] == "Re: Wet parcel"
    assert "<q1@customer.example>" in reply["References"]

    # the customer answers the agent's mail: it lands in the same conversation
    desk.deliver(
        mail(
            "Thank you, received it.\n\nOn Tue, Aiko wrote:\n> Sorry! A new one is on its way.",
            subject="Re: Wet parcel",
            message_id="<q2@customer.example>",
            headers={"In-Reply-To": reply["Message-ID"], "References": reply["Message-ID"]},
        )
    )
    await desk.fetch()
    rows = await messages(desk, found.id)
    assert rows[-1].role == "customer"
    assert rows[-1].text == "Thank you, received it."  # quoted history trimmed
    assert (await conversation(desk, "hanako@customer.example")).id == found.id
    assert len(desk.sent) == 2  # the agent has it; the bot stays quiet
    changed = [e for e in desk.recorder.events if isinstance(e, QueueChanged)]
    assert changed[-1] == QueueChanged(places=False)  # the consoles' preview; nobody moves


async def test_offline_chat_is_continued_by_mail(desk: Desk) -> None:
    ref, _ = await desk.conversations.start("en")
    await desk.conversations.receive(ref, "m1", "Can I change the delivery address?")
    await desk.replies.drain()
    await desk.conversations.contact(ref, "ken@customer.example", "Please mail me")
    agent = await user(desk)
    await desk.assignment.claim(agent, ref.public_id)
    await desk.assignment.reply(agent, ref.public_id, "c1", "Yes, until it ships.")
    await desk.channel.outbox.send_due()

    assert [m["To"] for m in desk.sent] == ["ken@customer.example"]
    found = await conversation(desk, "ken@customer.example")
    text = text_of(desk.sent[0])
    assert "Yes, until it ships." in text
    assert f"https://shop.example.com/?lang=en&resume={found.mail_token}" in text

    desk.deliver(
        mail(
            "Great, then please send it to my office.",
            subject="Re: Your question to our support team",
            sender="ken@customer.example",
            message_id="<k2@customer.example>",
            headers={"In-Reply-To": desk.sent[0]["Message-ID"]},
        )
    )
    await desk.fetch()
    rows = await messages(desk, found.id)
    assert rows[-1].role == "customer"
    assert rows[-1].text == "Great, then please send it to my office."
    async with desk.sessions() as session:
        assert await session.scalar(select(func.count(Conversation.id))) == 1


async def test_auto_replies_and_mail_from_ourselves_are_never_answered(desk: Desk) -> None:
    desk.deliver(
        mail(
            "I am out of the office until Monday.",
            subject="Out of office: Question",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    desk.deliver(mail("loop", sender=SUPPORT, message_id="<loop@example.com>"))
    await desk.fetch()
    assert desk.sent == []
    async with desk.sessions() as session:
        assert await session.scalar(select(func.count(Conversation.id))) == 0
        statuses = set(await session.scalars(select(MailMessage.status)))
    assert statuses == {"ignored"}


async def test_mail_fetched_twice_is_taken_once(desk: Desk) -> None:
    raw = mail("How do I return an item?", subject="Return")
    assert (await desk.channel.intake.accept(raw)).status == "accepted"
    assert (await desk.channel.intake.accept(raw)).status == "duplicate"
    await desk.replies.drain()
    await desk.channel.outbox.send_due()
    assert len(desk.sent) == 1


async def test_smtp_outage_delays_the_reply_which_then_arrives_once(desk: Desk) -> None:
    await desk.smtp.stop()  # the SMTP server is down
    desk.deliver(mail("How do I return an item?", subject="Return"))
    await desk.fetch()
    async with desk.sessions() as session:
        row = await session.scalar(select(MailMessage).where(MailMessage.direction == "out"))
        assert row is not None
        assert row.status == "pending" and row.attempts == 1 and row.detail

    back = SmtpSink(desk.smtp.port, desk.smtp.capture)
    await back.start()
    desk.smtp = back
    await asyncio.sleep(0.05)  # the retry is due
    assert await desk.channel.outbox.send_due() == 1
    assert await desk.channel.outbox.send_due() == 0
    assert len(desk.sent) == 1
    assert "Return an item within 30 days" in text_of(desk.sent[0])
    async with desk.sessions() as session:
        row = await session.scalar(select(MailMessage).where(MailMessage.direction == "out"))
        assert row is not None and row.status == "sent" and row.attempts == 2
    assert parse(bytes(desk.sent[0])).message_id == row.message_id


class SlowIntake:
    """Stands for the intake: each mail takes a while to store (a slow database)."""

    def __init__(self) -> None:
        self.taking = asyncio.Event()
        self.stored: list[str | None] = []

    async def __call__(self, raw: bytes, inbox: str, size: int) -> None:
        self.taking.set()
        await asyncio.sleep(0.3)  # writing it to the database
        self.stored.append(parse(raw).message_id)


def unread(server: Server) -> int:
    client = IMAPClient("127.0.0.1", port=server.port, ssl=False)
    client.login(server.user, server.password)
    client.select_folder(server.folder)
    count = len(client.search(["UNSEEN"]))
    client.logout()
    return count


async def test_a_running_inbox_takes_mail_as_it_arrives_and_closing_lets_a_mail_be_stored(
    desk: Desk,
) -> None:
    """The inbox's own loop: new mail is taken without anyone asking, and a server that
    stops while a mail is being stored stores it and marks it read (not fetched again)."""
    intake = SlowIntake()
    [server] = desk.channel.config.inboxes
    inbox = ImapInbox(server, intake, max_bytes=1_000_000, poll_seconds=1)
    inbox.start()
    try:
        desk.deliver(mail("How do I return an item?", subject="Return"))
        await asyncio.wait_for(intake.taking.wait(), 20)
    finally:
        await asyncio.wait_for(inbox.close(), 10)
    assert intake.stored == ["<q1@customer.example>"]
    assert unread(server) == 0


async def test_an_unreachable_inbox_is_tried_again_less_and_less_often(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def accept(raw: bytes, inbox: str, size: int) -> None:
        raise AssertionError("nothing can arrive")

    nobody = Server("127.0.0.1", free_port(), "none", SUPPORT, "x", "INBOX", "support")
    inbox = ImapInbox(nobody, accept, max_bytes=1_000_000)
    inbox.start()

    def waits() -> list[str]:
        said = [r.getMessage() for r in caplog.records if "reconnecting" in r.getMessage()]
        return [m.rsplit(" in ", 1)[1] for m in said]

    async with asyncio.timeout(15):  # a loaded machine may be late; the waits are not shorter
        while len(waits()) < 2:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(inbox.close(), 2)  # closing cuts the 2 s wait short
    assert waits() == ["1 s", "2 s"]


async def test_closing_during_a_backlog_stores_the_mail_in_hand_and_leaves_the_rest_unread(
    desk: Desk,
) -> None:
    """A server stopping while it works through many unread mails (after an outage) stops
    after the mail in hand: that one is stored and read, the rest wait for the next start."""
    for n in range(3):
        desk.deliver(mail(f"Question {n}", message_id=f"<backlog{n}@customer.example>"))
    intake = SlowIntake()
    [server] = desk.channel.config.inboxes
    inbox = ImapInbox(server, intake, max_bytes=1_000_000, poll_seconds=1)
    inbox.start()
    await asyncio.wait_for(intake.taking.wait(), 20)
    await asyncio.wait_for(inbox.close(), 5)
    assert intake.stored == ["<backlog0@customer.example>"]
    assert unread(server) == 2
