"""Mail no one should answer: auto-replies, bounces, lists, and our own mail come back.

Two robots must never talk to each other (RFC 3834): such mail is stored and logged, and
gets no reply and no conversation.
"""

from __future__ import annotations

from collections.abc import Collection

from mail.parse import InboundMail

_BULK = frozenset({"bulk", "list", "junk", "auto_reply"})
_NULL_SENDERS = ("mailer-daemon@", "postmaster@", "noreply@", "no-reply@", "donotreply@")


def robot_reason(mail: InboundMail, own_addresses: Collection[str]) -> str | None:
    """Why this mail must not be answered, or None when a person wrote it.

    Args:
        mail: The parsed mail.
        own_addresses: Our support addresses (lower-case): mail from them is a loop.
    """
    headers = mail.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"{name}: {headers[name]}"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "mailing-list mail (List-Id / List-Unsubscribe)"
    if headers.get("return-path", "").strip() == "<>":
        return "null sender (Return-Path: <>)"
    if "multipart/report" in headers.get("content-type", "").lower():
        return "delivery report (multipart/report)"
    if not mail.sender or "@" not in mail.sender:
        return "no sender address"
    if mail.sender.startswith(_NULL_SENDERS):
        return f"automated sender {mail.sender}"
    if _is_ours(mail.sender, own_addresses):
        return f"from our own address {mail.sender} (a mail loop)"
    return None


def _is_ours(address: str, own_addresses: Collection[str]) -> bool:
    local, _, domain = address.partition("@")
    base = local.split("+", 1)[0]
    return address in own_addresses or f"{base}@{domain}" in own_addresses
