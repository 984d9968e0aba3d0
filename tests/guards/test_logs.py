"""Log lines carry no customer's e-mail, phone or card number, and name their conversation."""

from __future__ import annotations

import logging

import pytest

from guards.logs import conversation_scope, install, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to aiko.tanaka+shop@example.co.jp", "write to [email]"),
        ("call +81 90-1234-5678 today", "call [phone] today"),
        ("or 03-1234-5678", "or [phone]"),
        ("card 4111 1111 1111 1111 please", "card [card] please"),
        ("card 4111-1111-1111-1111", "card [card]"),
    ],
)
def test_personal_details_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 at 2026-11-22 11:40:02",
        "conversation 4f0c1234-5678-4abc-9def-123456789012 seq 7",
        "queued 20 pending bot replies in 0.25 s",
    ],
)
def test_ordinary_log_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_records_are_redacted_and_tagged(caplog: pytest.LogCaptureFixture) -> None:
    install()
    log = logging.getLogger("kakehashi.test")
    with caplog.at_level(logging.INFO):
        with conversation_scope("c-42"):
            log.info("contact from %s", "aiko@example.com")
            try:
                raise ValueError("bad card 4111 1111 1111 1111")
            except ValueError:
                log.exception("failed")
        log.info("outside")
    assert caplog.records[0].getMessage() == "[conversation c-42] contact from [email]"
    assert "4111" not in caplog.text and "[card]" in caplog.text
    assert caplog.records[-1].getMessage() == "outside"


def test_a_client_address_is_kept_while_a_phone_number_is_not() -> None:
    line = redact("sign-in refused for 'aiko' from 198.51.100.7; she wrote 090-1234-5678")
    assert "198.51.100.7" in line and "090-1234-5678" not in line
