"""The JSON events of the chat protocol (docs/protocol.md), built from stored rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from knowledge.rendering import render_markdown, render_plain
from storage.models import Conversation, Message

Event = dict[str, Any]


def utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def message_event(message: Message) -> Event:
    rich = message.role != "customer"
    return {
        "type": "message",
        "seq": message.seq,
        "role": message.role,
        "kind": message.kind,
        "text": message.text,
        "html": render_markdown(message.text) if rich else render_plain(message.text),
        "citations": message.citations or [],
        "confidence": message.confidence,
        "client_id": message.client_id,
        "author": message.author,
        "feedback": message.helpful,
        "lang": message.lang,
        "created_at": utc(message.created_at).isoformat(),
    }


def state_event(
    conversation: Conversation,
    queue_position: int | None = None,
    estimated_wait_seconds: int | None = None,
) -> Event:
    event: Event = {
        "type": "state",
        "state": conversation.state,
        "reason": conversation.escalation_reason,
    }
    if conversation.state == "waiting":
        event["queue_position"] = queue_position
        event["estimated_wait_seconds"] = estimated_wait_seconds
    return event


def error_event(code: str, message: str, client_id: str | None = None) -> Event:
    event: Event = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        event["client_id"] = client_id
    return event


def typing_event(role: str, typing: bool) -> Event:
    return {"type": "typing", "role": role, "typing": typing}
