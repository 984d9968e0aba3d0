"""Log lines with nothing raw from a customer in them, each naming its conversation.

`install()` wraps the process's log-record factory once: every record's message (and
traceback) is rendered, e-mail addresses, phone numbers and card numbers are replaced by
placeholders, and a record made while a conversation is being handled starts with
`[conversation <id>]`. `conversation_scope` marks the code handling one conversation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits, spaces or dashes allowed between them: card numbers (checked with Luhn)
CARD = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
# a phone number: optional +country, 9-15 digits with spaces, dashes, dots or brackets
PHONE = re.compile(r"(?<![\w-])\+?\(?\d(?:[\s().-]{0,2}\d){8,14}(?![\w:-])")

_conversation: ContextVar[str | None] = ContextVar("kakehashi_conversation", default=None)
_installed = False


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if _luhn(digits) else match.group()


_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _phone(match: re.Match[str]) -> str:
    # a client's IPv4 address looks like a dotted phone number; operators need it
    return match.group() if _IPV4.fullmatch(match.group()) else "[phone]"


def redact(text: str) -> str:
    """`text` with e-mail addresses, card numbers and phone numbers replaced."""
    text = EMAIL.sub("[email]", text)
    text = CARD.sub(_card, text)
    return PHONE.sub(_phone, text)


@contextmanager
def conversation_scope(conversation_id: str | None) -> Iterator[None]:
    """Log records made inside name this conversation (None: no conversation)."""
    token = _conversation.set(conversation_id)
    try:
        yield
    finally:
        _conversation.reset(token)


def current_conversation() -> str | None:
    return _conversation.get()


def install() -> None:
    """Redact and tag every log record of this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))


def _redacting(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    formatter = logging.Formatter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if isinstance(record.args, tuple) and record.name == "uvicorn.access":
            # its formatter reads the values themselves: redact each, keep the tuple
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            return record
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the template, drop the values
            message = str(record.msg)
        conversation = _conversation.get()
        if conversation and conversation not in message:
            message = f"[conversation {conversation}] {message}"
        record.msg, record.args = redact(message), None
        record.conversation_id = conversation
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(formatter.formatException(record.exc_info))
        return record

    return factory
