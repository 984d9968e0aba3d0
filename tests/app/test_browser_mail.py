"""The e-mail channel in the agent console, in a real browser against `kakehashi serve`: a
customer's mail arrives over SMTP, waits in the queue with an "E-mail" badge and the
customer's address, and the agent's reply shows its mail's delivery state until it is sent
(to a real SMTP server, aiosmtpd, that keeps what it receives)."""

from __future__ import annotations

import email
import os
import smtplib
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller

from tests.app._staff import _create_user, serving
from tests.app.test_browser import browser, free_port, screenshot
from tests.conftest import SAMPLE_KB

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["browser"]  # the fixture
pytestmark = [pytest.mark.browser, pytest.mark.model]
SUPPORT = "support@example.com"


class Sink:
    """aiosmtpd handler: the mail Kakehashi sends."""

    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails.append(bytes(envelope.original_content or b""))
        return "250 OK"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Sink]]:
    """`kakehashi serve` with e-mail on: SMTP in on a port of its own, out into aiosmtpd."""
    sink = Sink()
    outgoing = Controller(sink, hostname="127.0.0.1", port=free_port())
    outgoing.start()
    smtp_in = free_port()
    data = tmp_path_factory.mktemp("mail-server")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "KAKEHASHI_DATA_DIR": str(data),
        "KAKEHASHI_KB_DIR": str(SAMPLE_KB),
        "KAKEHASHI_BUSINESS_HOURS": "mon-sun 00:00-24:00",
        "KAKEHASHI_MAIL_FROM": SUPPORT,
        "KAKEHASHI_SMTP_HOST": "127.0.0.1",
        "KAKEHASHI_SMTP_PORT": str(outgoing.port),
        "KAKEHASHI_SMTP_SECURITY": "none",
        "KAKEHASHI_SMTP_LISTEN_PORT": str(smtp_in),
    }
    (data / "agent-password").write_text(_create_user(env, "aiko", "agent", "Aiko"))
    try:
        with serving(env, data) as base:
            yield base, smtp_in, sink
    finally:
        outgoing.stop()


def test_an_email_waits_with_its_channel_and_the_reply_shows_it_was_mailed(
    browser: Browser,
    mail_server: tuple[str, int, Sink],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base, smtp_in, sink = mail_server
    question = EmailMessage()
    question["From"] = "Hanako Yamada <hanako@customer.example>"
    question["To"] = SUPPORT
    question["Subject"] = "Damaged parcel"
    question["Message-ID"] = "<q1@customer.example>"
    question.set_content("I would like to talk to a person about my order, please.")
    with smtplib.SMTP("127.0.0.1", smtp_in) as smtp:
        smtp.send_message(question)

    data = next(Path(tmp_path_factory.getbasetemp()).glob("mail-server*"))
    agent = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    agent.goto(f"{base}/agent")
    agent.get_by_test_id("username").fill("aiko")
    agent.get_by_test_id("password").fill((data / "agent-password").read_text())
    agent.get_by_test_id("login-submit").click()
    agent.wait_for_url(f"{base}/agent")

    entry = agent.locator('[data-testid="queue-entry"][data-channel="email"]').first
    entry.wait_for(timeout=30_000)
    assert entry.get_by_test_id("channel-email").inner_text() == "E-mail"
    assert "hanako@customer.example" in entry.inner_text()
    entry.get_by_test_id("claim").click()
    agent.get_by_test_id("conv-channel").filter(has_text="hanako@customer.example").wait_for()
    # the bot's "a person will write back" went out by mail before anyone claimed it
    bot_mail = agent.locator('[data-testid="message"][data-role="bot"] [data-testid="delivery"]')
    assert bot_mail.first.get_attribute("data-status") == "sent"

    agent.get_by_test_id("composer").fill("Hello Hanako, this is Aiko. Let me look into it.")
    agent.get_by_test_id("send").click()
    reply = agent.locator('[data-testid="message"][data-role="agent"]').last
    reply.locator('[data-testid="delivery"][data-status="sent"]').wait_for(timeout=30_000)
    mailed = [email.message_from_bytes(m, policy=policy.default) for m in sink.mails]
    assert [m["To"] for m in mailed] == ["hanako@customer.example"] * 2
    body = mailed[1].get_body(preferencelist=("plain",))
    assert body is not None and "this is Aiko" in body.get_content()
    screenshot(agent, tmp_path_factory, "agent-console-email")
    agent.close()


def test_the_link_in_a_mail_reopens_that_conversation_in_the_widget(
    browser: Browser,
    mail_server: tuple[str, int, Sink],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base, smtp_in, sink = mail_server
    question = EmailMessage()
    question["From"] = "Ken Sato <ken@customer.example>"
    question["To"] = SUPPORT
    question["Subject"] = "Gift wrapping"
    question["Message-ID"] = "<k1@customer.example>"
    question.set_content("Could a person from your team call me about gift wrapping?")
    before = len(sink.mails)
    with smtplib.SMTP("127.0.0.1", smtp_in) as smtp:
        smtp.send_message(question)
    deadline = time.monotonic() + 30
    while len(sink.mails) == before:  # the bot's "a person will write back"
        assert time.monotonic() < deadline, "no mail went out"
        time.sleep(0.2)
    answer = email.message_from_bytes(sink.mails[-1], policy=policy.default)
    token = str(answer["Reply-To"]).split("+", 1)[1].split("@", 1)[0]

    customer = browser.new_context().new_page()
    customer.goto(f"{base}/?lang=en&resume={token}")
    widget = customer.locator("kakehashi-widget")
    said = widget.locator('[data-testid="message"][data-role="customer"]')
    said.first.wait_for(timeout=30_000)  # the panel opened by itself, with the mail in it
    assert "gift wrapping" in said.first.inner_text()
    screenshot(customer, tmp_path_factory, "widget-resumed-from-mail")
    customer.close()
