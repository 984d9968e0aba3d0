"""The typed events of the domain, and the bus that carries them to listeners.

A domain action changes the database in one transaction; after the commit it emits
events on the `EventBus`. Listeners deliver them: `HubDelivery` turns them into frames on
the hub's channels (to websockets); metrics and e-mail listen the same way. A listener
never changes the database behind an action's back.

Frames are the JSON objects of the protocols (docs/protocol.md, docs/agent-protocol.md);
their shapes are the `TypedDict`s below, defined once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

log = logging.getLogger(__name__)

Frame = Mapping[str, Any]
"""Any protocol event as sent on a websocket."""


class Citation(TypedDict):
    article_id: str
    title: str
    url: str | None


class AttachmentInfo(TypedDict):
    """A file attached to a message (docs/protocol.md, "Attachments")."""

    id: str
    name: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None  # images only
    width: int | None  # images: the size shown, upright
    height: int | None


class MessageFrame(TypedDict):
    type: Literal["message"]
    seq: int
    role: str
    kind: str
    text: str
    html: str
    citations: list[Citation]
    attachments: list[AttachmentInfo]
    confidence: float | None
    client_id: str | None
    author: str | None
    feedback: bool | None
    lang: str | None
    created_at: str


class StateFrame(TypedDict, total=False):
    type: Literal["state"]
    state: str
    reason: str | None
    agent: str | None
    queue_position: int | None
    estimated_wait_seconds: int | None
    offline: bool
    opens_at: str | None
    outcome: str | None
    csat: dict[str, Any]


class TypingFrame(TypedDict):
    type: Literal["typing"]
    role: str
    typing: bool


class FeedbackFrame(TypedDict):
    type: Literal["feedback"]
    seq: int
    helpful: bool


class RatedFrame(TypedDict, total=False):
    type: Literal["rated"]
    score: int
    comment: str | None
    rated_at: str | None


class NoteFrame(TypedDict):
    type: Literal["note"]
    conversation_id: str
    id: int
    author: str
    text: str
    created_at: str


class DeliveryFrame(TypedDict):
    """The delivery state of the mail that carries message `seq` (agents only)."""

    type: Literal["delivery"]
    conversation_id: str
    seq: int
    status: str  # queued, sent or failed
    address: str


class ErrorFrame(TypedDict, total=False):
    type: Literal["error"]
    code: str
    message: str
    client_id: str
    conversation_id: str | None
    retry_after: int  # rate_limited, unavailable: whole seconds before sending it again


class ClaimedFrame(TypedDict):
    type: Literal["claimed"]
    conversation_id: str
    user_id: int
    auto: bool


class CustomerEndedFrame(TypedDict):
    type: Literal["customer_ended"]
    conversation_id: str
    user_id: int


class QueueChangedFrame(TypedDict):
    type: Literal["queue_changed"]


ConversationFrame = MessageFrame | StateFrame | TypingFrame | FeedbackFrame | RatedFrame
AgentsFrame = ClaimedFrame | CustomerEndedFrame | QueueChangedFrame


# ---------------------------------------------------------------------------- domain events
@dataclass(frozen=True)
class ConversationUpdated:
    """Something the customer and the agents watching the conversation see."""

    conversation_id: str
    frame: ConversationFrame


@dataclass(frozen=True)
class NoteAdded:
    """An internal note: agents watching the conversation see it, the customer never."""

    conversation_id: str
    frame: NoteFrame


@dataclass(frozen=True)
class MailDelivery:
    """An outgoing mail was queued, sent or failed: agents watching see it, customers never."""

    conversation_id: str
    frame: DeliveryFrame


@dataclass(frozen=True)
class AgentsNotified:
    """Something every agent console hears (a claim, a customer leaving a chat)."""

    frame: AgentsFrame


@dataclass(frozen=True)
class QueueChanged:
    """The queue, an agent's chats or who is available changed: refresh the queue views.

    `places` False: only what the consoles show of a chat changed (its last message, its
    unanswered count), not who waits, in what order or for whom: waiting customers' places
    need not be worked out again.
    """

    places: bool = True


@dataclass(frozen=True)
class ArticleChanged:
    """An article was published, changed or archived through the server `origin`."""

    article_id: str
    origin: str


@dataclass(frozen=True)
class ReplyTimed:
    """A bot reply is out: how long each of its steps took, in seconds
    (`conversations.timing.STEPS`), and how long after the message arrived its models'
    vectors were ready (None: none ran, or they were not all done when the reply went
    out). For metrics; nobody is sent it."""

    steps: tuple[tuple[str, float], ...]
    models: float | None = None


@dataclass(frozen=True)
class ReplyOwed:
    """The bot has a conversation back (an agent handed it back) with the customer's last
    message unanswered: message `seq` is marked pending, and the bot answers it. For the
    reply queue; nobody is sent it."""

    conversation_id: int
    public_id: str
    seq: int
    text: str


DomainEvent = (
    ConversationUpdated
    | NoteAdded
    | MailDelivery
    | AgentsNotified
    | QueueChanged
    | ArticleChanged
    | ReplyTimed
    | ReplyOwed
)
Listener = Callable[[DomainEvent], Awaitable[None]]


class EventBus:
    """Carries events emitted after a commit to every listener, in order."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def emit(self, *events: DomainEvent) -> None:
        for event in events:
            for listener in self._listeners:
                try:
                    await listener(event)
                except Exception:  # one listener failing must not stop delivery to others
                    log.exception("listener %r failed on %r", listener, event)
