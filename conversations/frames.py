"""The frames of the chat protocol (docs/protocol.md), built from stored rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from conversations.ports import Availability
from delivery.events import (
    AttachmentInfo,
    Citation,
    ErrorFrame,
    FeedbackFrame,
    MessageFrame,
    NoteFrame,
    StateFrame,
    TypingFrame,
)
from handoff.states import ConversationState
from knowledge.rendering import render_markdown, render_plain
from storage.models import Conversation, Message, Note


def message_frame(message: Message) -> MessageFrame:
    rich = message.role != "customer"
    return {
        "type": "message",
        "seq": message.seq,
        "role": message.role,
        "kind": message.kind,
        "text": message.text,
        "html": render_markdown(message.text) if rich else render_plain(message.text),
        "citations": cast(list[Citation], message.citations or []),
        "attachments": [attachment_info(a) for a in attached(message.meta)],
        "confidence": message.confidence,
        "client_id": message.client_id,
        "author": message.author,
        "feedback": message.helpful,
        "lang": message.lang,
        "created_at": message.created_at.isoformat(),
    }


def attached(meta: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The files a message carries, as it keeps them (`StoredFile.summary`)."""
    return list((meta or {}).get("attachments") or [])


def with_files(text: str, meta: Mapping[str, Any] | None) -> str:
    """The text with a line per file, where only text is shown: "[attachment: photo.jpg]"."""
    lines = [f"[attachment: {a.get('name')}]" for a in attached(meta)]
    return "\n".join([text, *lines]).strip() if lines else text


def attachment_info(summary: dict[str, Any]) -> AttachmentInfo:
    """A file as frames carry it, from what its message keeps (`StoredFile.summary`)."""
    url = f"/api/attachments/{summary['id']}"
    return {
        "id": summary["id"],
        "name": summary["name"],
        "content_type": summary["content_type"],
        "size": summary["size"],
        "url": url,
        "thumbnail_url": f"{url}/thumbnail" if summary.get("image") else None,
        "width": summary.get("width"),
        "height": summary.get("height"),
    }


def state_frame(
    conversation: Conversation,
    *,
    agent: str | None = None,
    place: tuple[int, int] | None = None,
    available: Availability | None = None,
    csat: dict[str, Any] | None = None,
) -> StateFrame:
    """The conversation's state as the customer sees it.

    Args:
        conversation: The conversation.
        agent: The display name of the agent who has it (state `agent`).
        place: (queue position, estimated wait in seconds) while it waits.
        available: While it waits, whether a person can answer now; when nobody can,
            there is no position or wait to promise, only when the team is back.
        csat: The rating block of a closed conversation (`conversations.csat`).
    """
    frame: StateFrame = {
        "type": "state",
        "state": conversation.state,
        "reason": conversation.escalation_reason,
    }
    if conversation.state != ConversationState.WAITING:
        frame["agent"] = agent
    if conversation.state == ConversationState.WAITING:
        return waiting_frame(conversation.escalation_reason, place=place, available=available)
    if conversation.state == ConversationState.CLOSED:
        frame["outcome"] = conversation.outcome
        frame["csat"] = csat or {}
    return frame


def waiting_frame(
    reason: str | None,
    *,
    place: tuple[int, int] | None = None,
    available: Availability | None = None,
) -> StateFrame:
    """The state frame of a conversation waiting for a person (`state_frame`), from what
    the queue knows of it: no need to load the conversation."""
    offline = available is not None and available.offline
    position, wait = place if place is not None and not offline else (None, None)
    opens = available.next_opening if available is not None else None
    return {
        "type": "state",
        "state": ConversationState.WAITING.value,
        "reason": reason,
        "queue_position": position,
        "estimated_wait_seconds": wait,
        "offline": offline,
        "opens_at": opens.isoformat() if opens is not None else None,
    }


def note_frame(note: Note, public_id: str) -> NoteFrame:
    return {
        "type": "note",
        "conversation_id": public_id,
        "id": note.id,
        "author": note.author,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }


def error_frame(code: str, message: str, client_id: str | None = None) -> ErrorFrame:
    frame: ErrorFrame = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def typing_frame(role: str, typing: bool) -> TypingFrame:
    return {"type": "typing", "role": role, "typing": typing}


def feedback_frame(seq: int, helpful: bool) -> FeedbackFrame:
    return {"type": "feedback", "seq": seq, "helpful": helpful}
