"""Reading crafted mail: charsets, HTML-only mail, quoted history, robots, thread tokens."""

from __future__ import annotations

import base64
from email.header import Header

import pytest

from mail.parse import clean_subject, parse
from mail.robots import robot_reason
from mail.threads import reply_address, token_in

OURS = {"support@example.com"}


def raw(body: bytes, *, charset: str, extra: str = "", subject: str = "Hello") -> bytes:
    head = (
        "From: Taro <taro@example.jp>\r\nTo: support@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <a1@example.jp>\r\n{extra}"
        f'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="{charset}"\r\n'
    )
    return head.encode() + b"\r\n" + body


def test_iso_2022_jp_body_and_encoded_subject() -> None:
    subject = Header("返品について", "iso-2022-jp").encode()
    mail = parse(
        raw("返品したいです。".encode("iso-2022-jp"), charset="iso-2022-jp", subject=subject)
    )
    assert mail.subject == "返品について"
    assert mail.text == "返品したいです。"
    assert mail.sender == "taro@example.jp" and mail.sender_name == "Taro"


def test_shift_jis_body_with_windows_characters() -> None:
    mail = parse(raw("①番の注文を返品したい".encode("cp932"), charset="Shift_JIS"))
    assert mail.text == "①番の注文を返品したい"


def test_utf8_base64_body() -> None:
    body = base64.b64encode("配送状況を知りたい".encode())
    mail = parse(raw(body, charset="utf-8", extra="Content-Transfer-Encoding: base64\r\n"))
    assert mail.text == "配送状況を知りたい"


def test_html_only_mail_becomes_text() -> None:
    html = b"<html><body><p>Where is <b>my order</b>?</p><script>x()</script></body></html>"
    message = raw(html, charset="utf-8").replace(b"text/plain", b"text/html")
    assert parse(message).text == "Where is **my order**?"


@pytest.mark.parametrize(
    "body",
    [
        "Thanks, it worked.\n\nOn Mon, 1 Dec 2026, Support <support@example.com> wrote:\n> old",
        "Thanks, it worked.\n\n2026年12月1日(月) 10:00 Support <support@example.com>:\n> old",
        "Thanks, it worked.\n\n-- \nTaro Yamada\nACME",
    ],
)
def test_quoted_history_and_signature_are_trimmed(body: str) -> None:
    mail = parse(raw(body.encode(), charset="utf-8"))
    assert mail.text == "Thanks, it worked."
    assert "old" in mail.full_text or "ACME" in mail.full_text


def test_thread_headers_and_attachments() -> None:
    message = (
        b"From: a@example.jp\r\nTo: support+0123456789abcdef0123456789abcdef@example.com\r\n"
        b"Subject: =?utf-8?b?UmU6IOi/lOWTgQ==?=\r\nMessage-ID: <b2@example.jp>\r\n"
        b"In-Reply-To: <ours1@example.com>\r\nReferences: <x@y> <ours1@example.com>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="a.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n"
    )
    mail = parse(message)
    assert mail.thread_ids == ("<ours1@example.com>", "<ours1@example.com>", "<x@y>")
    assert token_in(mail.recipients) == "0123456789abcdef0123456789abcdef"
    assert [a.filename for a in mail.attachments] == ["a.png"]
    assert clean_subject(mail.subject) == "返品"


def test_reply_address_uses_plus_addressing() -> None:
    assert reply_address("support@example.com", "ab") == "support+ab@example.com"


@pytest.mark.parametrize(
    "extra",
    [
        "Auto-Submitted: auto-replied\r\n",
        "Precedence: bulk\r\n",
        "Precedence: list\r\n",
        "X-Autoreply: yes\r\n",
        "List-Id: <news.example.jp>\r\n",
        "Return-Path: <>\r\n",
    ],
)
def test_robots_are_recognised(extra: str) -> None:
    assert robot_reason(parse(raw(b"hi", charset="utf-8", extra=extra)), OURS) is not None


def test_a_person_and_a_loop() -> None:
    person = parse(raw(b"hi", charset="utf-8", extra="Auto-Submitted: no\r\n"))
    assert robot_reason(person, OURS) is None
    loop = parse(raw(b"hi", charset="utf-8").replace(b"taro@example.jp", b"support+x@example.com"))
    assert "loop" in (robot_reason(loop, OURS) or "")
