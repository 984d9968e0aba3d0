"""What agents see of the e-mail channel: the channel and the customer's address in the
queue and the context panel, and the delivery state of every mail next to its message
(queued, sent, failed), live and on opening — while the customer's frames stay as they were."""

from __future__ import annotations

import asyncio

import pytest

from bot.retriever import FakeRetriever
from delivery.events import EventBus, MailDelivery
from delivery.presence import InProcessPresence
from handoff.config import HandoffConfig
from handoff.context import ContextPanel
from handoff.hours import BusinessHours
from handoff.lineup import Lineup
from tests.mail.conftest import ARTICLES, Desk, SmtpSink
from tests.mail.test_channel import conversation, mail, user

pytestmark = [pytest.mark.anyio, pytest.mark.mail]


def deliveries(desk: Desk) -> list[tuple[int, str]]:
    return [
        (e.frame["seq"], e.frame["status"])
        for e in desk.recorder.events
        if isinstance(e, MailDelivery)
    ]


def lineup(desk: Desk) -> Lineup:
    presence = InProcessPresence(60, on_absent=lambda _uid: asyncio.sleep(0))
    hours = BusinessHours.parse("mon-sun 00:00-24:00", "UTC")
    return Lineup(desk.sessions, EventBus(), presence, hours, HandoffConfig(), desk.assignment)


async def test_the_queue_and_the_context_show_the_channel_and_each_mails_delivery(
    desk: Desk,
) -> None:
    desk.deliver(mail("My parcel arrived soaking wet.", subject="Wet parcel"))
    await desk.fetch()
    found = await conversation(desk, "hanako@customer.example")
    handoff_seq = 2  # the customer's mail, then the bot's "a person will write back"
    assert deliveries(desk) == [(handoff_seq, "queued"), (handoff_seq, "sent")]

    agent = await user(desk)
    snapshot = await lineup(desk).snapshot(agent)
    [entry] = snapshot["waiting"]
    assert entry["channel"] == "email"
    assert entry["customer_email"] == "hanako@customer.example"

    # the agent answers while the SMTP server is down: queued, then sent once it is back
    await desk.assignment.claim(agent, found.public_id)
    await desk.smtp.stop()
    await desk.assignment.reply(agent, found.public_id, "c1", "A new one is on its way.")
    await desk.channel.outbox.send_due()
    panel = ContextPanel(desk.sessions, FakeRetriever(ARTICLES))
    context = await panel.context(found.public_id)
    assert context["channel"] == "email"
    assert context["customer_email"] == "hanako@customer.example"
    delivery = {m["seq"]: m.get("delivery") for m in context["messages"]}
    reply_seq = max(delivery)
    assert delivery[1] is None  # the customer's own mail is not "delivered" by us
    assert delivery[handoff_seq] == {"status": "sent", "address": "hanako@customer.example"}
    assert delivery[reply_seq] == {"status": "queued", "address": "hanako@customer.example"}
    assert deliveries(desk)[-1] == (reply_seq, "queued")

    mine = (await lineup(desk).snapshot(agent))["mine"]
    assert [(m["channel"], m["customer_email"]) for m in mine] == [
        ("email", "hanako@customer.example")
    ]

    back = SmtpSink(desk.smtp.port, desk.smtp.capture)
    await back.start()
    desk.smtp = back
    await asyncio.sleep(0.05)  # the retry is due
    assert await desk.channel.outbox.send_due() == 1
    assert deliveries(desk)[-1] == (reply_seq, "sent")
    context = await panel.context(found.public_id, last_seq=reply_seq - 1)
    assert [m["delivery"]["status"] for m in context["messages"]] == ["sent"]

    # the customer's widget frames never carry the delivery state
    assert all("delivery" not in frame for frame in desk.recorder.frames("message"))


async def test_a_chat_is_shown_as_a_chat(desk: Desk) -> None:
    ref, _ = await desk.conversations.start("en")
    await desk.conversations.receive(ref, "m1", "A person please")
    await desk.replies.drain()
    agent = await user(desk)
    snapshot = await lineup(desk).snapshot(agent)
    assert [(e["channel"], e["customer_email"]) for e in snapshot["waiting"]] == [("chat", None)]
