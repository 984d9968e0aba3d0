"""Reading one inbound e-mail: headers, the text the customer wrote, what was attached.

The standard library's `email` package with `policy.default` decodes MIME-encoded
subjects (RFC 2047) and bodies in any charset Python knows (ISO-2022-JP, Shift_JIS,
UTF-8); HTML-only mail becomes text with html2text; quoted history and signatures are
cut with mail-parser-reply (English and Japanese reply headers).
"""

from __future__ import annotations

import email
import email.utils
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import html2text
from mailparser_reply import EmailReplyParser

log = logging.getLogger(__name__)

# Japanese mail labelled Shift_JIS or ISO-2022-JP is usually written with Microsoft's and
# the carriers' extensions (①, ㈱, NEC special characters): decode with the supersets.
_SUPERSETS = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004",
}
_IDS = re.compile(r"<[^<>\s]+>")
_REPLY_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|sv|antw|答复|回复|返信)\s*(\[\d+\])?\s*[:：]\s*)+", re.I
)
_REPLIES = EmailReplyParser(languages=["en", "ja", "de", "fr"])


class MalformedMail(ValueError):
    """Not an e-mail we can read (no headers, no sender)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class InboundMail:
    """One received e-mail, decoded."""

    message_id: str | None
    """`<id@host>` as in the header, or None when the sender gave none."""
    sender: str
    """The bare address replies go to (Reply-To, else From), lower-cased."""
    sender_name: str
    recipients: tuple[str, ...]
    """To, Cc, Delivered-To and X-Original-To addresses, lower-cased."""
    subject: str
    text: str
    """What the customer wrote this time: quoted history and signature cut."""
    full_text: str
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    """The headers that tell a robot from a person (lower-cased names)."""

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this mail answers, the most direct first."""
        return self.in_reply_to + tuple(reversed(self.references))


ROBOT_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "x-loop",
    "content-type",
)


def parse(raw: bytes) -> InboundMail:
    """Decode one message as received (the RFC 5322 bytes).

    Raises:
        MalformedMail: when there is no usable sender.
    """
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    if not message.keys():
        raise MalformedMail("no headers: not an e-mail message")
    sender_name, sender = _sender(message)
    full = _body_text(message)
    return InboundMail(
        message_id=_first_id(_header(message, "message-id")),
        sender=sender,
        sender_name=sender_name,
        recipients=_recipients(message),
        subject=_header(message, "subject").strip(),
        text=latest_reply(full),
        full_text=full,
        in_reply_to=tuple(_IDS.findall(_header(message, "in-reply-to"))),
        references=tuple(_IDS.findall(_header(message, "references"))),
        attachments=tuple(_attachments(message)),
        headers={name: _header(message, name) for name in ROBOT_HEADERS if name in message},
    )


def latest_reply(text: str) -> str:
    """What was written this time: the quoted earlier mails and the signature cut off."""
    text = text.replace("\r\n", "\n").strip()
    # the standard signature separator, "-- " on a line of its own (RFC 3676)
    text = text.split("\n-- \n", 1)[0].strip()
    if not text:
        return ""
    try:
        reply = _REPLIES.parse_reply(text=text).strip()
    except Exception:  # the trimmer is a nicety: never lose the mail over it
        log.warning("could not trim quoted history; keeping the whole text", exc_info=True)
        return text
    return reply or text


def clean_subject(subject: str) -> str:
    """The subject without Re:/Fwd:/返信: prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser could not decode: keep what it can
        value = message.get_all(name, failobj=[""])[0] if name in message else ""
    return str(value or "")


def _first_id(value: str) -> str | None:
    ids = _IDS.findall(value)
    return ids[0] if ids else (value.strip() or None)


def _sender(message: EmailMessage) -> tuple[str, str]:
    for name in ("reply-to", "from"):
        pairs = email.utils.getaddresses([_header(message, name)])
        for display, address in pairs:
            if "@" in address:
                return display.strip(), address.strip().lower()
    # a null sender (bounces) still has a From: keep what the header says
    display, address = email.utils.parseaddr(_header(message, "from"))
    return display, address.strip().lower()


def _recipients(message: EmailMessage) -> tuple[str, ...]:
    values = [_header(message, name) for name in ("to", "cc", "delivered-to", "x-original-to")]
    return tuple(
        address.strip().lower() for _, address in email.utils.getaddresses(values) if "@" in address
    )


def _decode(part: EmailMessage) -> str:
    charset = (part.get_content_charset() or "").lower()
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    for candidate in (_SUPERSETS.get(charset, charset), "utf-8", "cp932"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def _body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        if message.get_content_maintype() == "text":
            body = message
        else:
            return ""
    assert isinstance(body, EmailMessage)
    text = _decode(body)
    if body.get_content_subtype() == "html":
        return html_to_text(text)
    return text


def html_to_text(html: str) -> str:
    """HTML mail as plain text (links kept as Markdown links)."""
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no hard wrapping: Japanese has no spaces to wrap at
    converter.ignore_images = True
    return str(converter.handle(html)).strip()


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                part.get_filename() or "(unnamed)",
                part.get_content_type(),
                len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return found
