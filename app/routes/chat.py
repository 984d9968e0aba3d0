"""The customer chat websocket (`/ws/chat`); the protocol is in docs/protocol.md."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette import status
from starlette.types import Message

from app.deps import ServicesDep
from app.guard import ChatGuard, RateLimited, client_address
from app.routes._fields import MAX_INT, clean_text, field, optional_text
from app.routes._origins import origin_allowed
from app.routes._sockets import (
    describe_frame,
    echoed_field,
    forwarder,
    frame_text,
    parse_event,
    serve,
    storage_unreachable,
    unavailable_frame,
)
from conversations.closing import end_chat, rate
from conversations.csat import SCORES
from conversations.errors import ChatError
from conversations.frames import error_frame
from conversations.service import ConversationRef, ConversationService
from delivery import channels
from delivery.events import Frame
from delivery.hub import OVERFLOW, Hub
from delivery.tasks import Loop
from guards.logs import conversation_scope

router = APIRouter()
log = logging.getLogger(__name__)

CLIENT_TYPES = (
    "hello",
    "message",
    "feedback",
    "handoff_request",
    "typing",
    "contact",
    "end",
    "rate",
    "choose",
)
MAX_CLIENT_ID = 64
MAX_ARTICLE_ID = 200
MAX_ORIGIN = 300  # Conversation.origin's length, which PostgreSQL enforces


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket, services: ServicesDep) -> None:
    """One customer's connection to their conversation."""
    settings = services.settings
    if not origin_allowed(websocket.headers.get("origin"), websocket, settings.allowed_origins):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="origin not allowed")
        return
    guard: ChatGuard = websocket.app.state.guard
    address = client_address(websocket)
    if not await guard.admit(address):
        # accepted first, so the client reads the close code (refusing the handshake would
        # reach it as a bare HTTP 403) and backs off
        await websocket.accept()
        await websocket.close(
            code=status.WS_1013_TRY_AGAIN_LATER, reason="too many connections from this address"
        )
        return
    try:
        await websocket.accept()
        session = ChatSession(
            websocket, services.conversations, services.hub, settings.max_message_chars
        )
        session.guard, session.address = guard, address
        session.attaching = services.attachments.limits()
        with guard.metrics.open_websockets.labels("chat").track_inprogress():
            await serve(session)
    finally:
        await guard.release(address)


class ChatSession:
    """Reads client events and forwards the conversation's events, in seq order."""

    def __init__(
        self, websocket: WebSocket, conversations: ConversationService, hub: Hub, max_chars: int
    ) -> None:
        self.websocket = websocket
        self.conversations = conversations
        self.hub = hub
        self.max_chars = max_chars
        self.ref: ConversationRef | None = None
        self.last_sent_seq = 0
        self._send_lock = asyncio.Lock()
        self._subscription = AsyncExitStack()
        self._forwarder: Loop[Frame] | None = None
        self.guard: ChatGuard | None = None
        self.address = "unknown"
        self.refusals = 0  # rate_limited refusals in a row
        self.attaching: dict[str, Any] | None = None  # what may be attached (welcome says)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        hello_by = loop.time() + (self.guard.settings.chat_hello_seconds if self.guard else 1e9)
        while True:
            frame = await self._receive(hello_by - loop.time())
            if frame is None:
                return
            raw = frame_text(frame, self.guard.settings.ws_max_frame_bytes if self.guard else None)
            if raw is None:  # too big: refused before anything was parsed
                await self.websocket.close(code=status.WS_1009_MESSAGE_TOO_BIG)
                return
            with conversation_scope(self.ref.public_id if self.ref else None):
                if not await self._answer(raw):
                    await self.websocket.close(
                        code=status.WS_1008_POLICY_VIOLATION,
                        reason="rate limit ignored: wait retry_after before sending again",
                    )
                    return

    async def _receive(self, hello_left: float) -> Message | None:
        """The next frame, or None when the client left or was closed for silence."""
        if self.guard is None:
            frame = await self.websocket.receive()
            return None if frame["type"] == "websocket.disconnect" else frame
        timeout = self.guard.settings.chat_idle_seconds
        if self.ref is None:
            timeout = min(timeout, hello_left)
        with anyio.move_on_after(max(0.0, timeout)):
            frame = await self.websocket.receive()
            return None if frame["type"] == "websocket.disconnect" else frame
        if self.ref is None:
            await self.websocket.close(
                code=status.WS_1008_POLICY_VIOLATION, reason="no hello in time"
            )
        else:
            await self.websocket.close(code=status.WS_1001_GOING_AWAY, reason="idle")
        return None

    async def _answer(self, raw: str) -> bool:
        """Handle one frame; False when the client keeps ignoring the rate limit."""
        try:
            if self.guard is not None:
                await self.guard.frame(str(id(self)))
            # A disconnect (or shutdown) waits for the event in hand: its database
            # work is never cut off halfway, which would lose it and can leave a
            # connection closing forever (SQLAlchemy + aiosqlite >= 0.22).
            with anyio.CancelScope(shield=True):
                await self.handle(raw)
            self.refusals = 0
        except ChatError as exc:
            event: dict[str, Any] = {**error_frame(exc.code, exc.message, self._client_id(raw))}
            if isinstance(exc, RateLimited):
                event["retry_after"] = exc.retry_after
                self.refusals += 1
                if self.guard and self.refusals > self.guard.settings.chat_refusals_before_close:
                    log.warning("closing a connection that ignored %d refusals", self.refusals)
                    return False
            await self.send(event)
        except (WebSocketDisconnect, asyncio.CancelledError):
            raise
        except Exception as exc:  # never let one bad event take the connection down
            if storage_unreachable(exc):
                log.warning("database unreachable, refused %s: %r", describe_frame(raw), exc)
                await self.send(unavailable_frame(self._client_id(raw)))
                return True
            log.exception("chat event failed (%s)", describe_frame(raw))
            await self.send(
                error_frame(
                    "internal",
                    "something went wrong on our side; please try again",
                    self._client_id(raw),
                )
            )
        return True

    async def close(self) -> None:
        if self._forwarder is not None:
            await self._forwarder.stop()
        await self._subscription.aclose()

    async def send(self, event: Frame) -> None:
        async with self._send_lock:
            if (
                event.get("type") == "message"
                and self.ref is not None
                and event["seq"] > self.last_sent_seq + 1
            ):
                # An earlier message has not arrived yet (events of several servers, or
                # of several connections to Redis, can overtake each other): send what
                # is stored, in order, instead of leaving a gap.
                for stored in await self.conversations.messages_after(
                    self.ref.id, self.last_sent_seq
                ):
                    await self._send_unlocked(stored)
                return
            await self._send_unlocked(event)

    async def _send_unlocked(self, event: Frame) -> None:
        if event.get("type") == "message":
            if event["seq"] <= self.last_sent_seq:
                return  # already delivered (replay and live delivery overlap)
            self.last_sent_seq = event["seq"]
        await self.websocket.send_text(json.dumps(event, ensure_ascii=False))

    # ------------------------------------------------------------------ events
    async def handle(self, raw: str) -> None:
        try:
            event = parse_event(raw)
        except ValueError:
            raise ChatError("invalid_json", "the frame is not valid JSON") from None
        if not isinstance(event, dict):
            raise ChatError("invalid_json", "an event must be a JSON object with a 'type'")
        kind = event.get("type")
        if kind not in CLIENT_TYPES:
            raise ChatError(
                "unknown_type",
                f"unknown event type {kind!r} (expected one of {', '.join(CLIENT_TYPES)})",
            )
        if self.guard is not None and kind != "typing":
            # hello counts per address only: resuming is never held against a conversation
            conversation = self.ref.public_id if self.ref and kind != "hello" else None
            await self.guard.event(self.address, conversation)
        if kind == "hello":
            await self.hello(event)
            return
        if self.ref is None:
            raise ChatError("hello_required", "send 'hello' before any other event")
        if kind == "message":
            await self.message(event)
        elif kind == "choose":
            await self.choose(event)
        elif kind == "feedback":
            seq = field(event, "seq", int)
            helpful = field(event, "helpful", bool)
            await self.conversations.feedback(self.ref, seq, helpful)  # acknowledged via the hub
        elif kind == "handoff_request":
            await self.conversations.request_handoff(self.ref)
        elif kind == "typing":
            await self.conversations.customer_typing(self.ref, field(event, "typing", bool))
        elif kind == "contact":
            email = field(event, "email", str)
            text = event.get("message") or ""
            if not isinstance(text, str) or not clean_text(text) or len(text) > self.max_chars:
                raise ChatError(
                    "invalid_field",
                    f"'message' must be text of at most {self.max_chars} characters",
                )
            await self.conversations.contact(self.ref, email, text)
        elif kind == "end":
            await end_chat(self.conversations, self.ref)
        elif kind == "rate":
            score = field(event, "score", int)
            if score not in SCORES:
                raise ChatError(
                    "invalid_field",
                    "'score' must be a whole number from 1 (very bad) to 5 (very good)",
                )
            comment = optional_text(event, "comment", self.max_chars)
            await rate(self.conversations, self.ref, score, comment)  # acknowledged via the hub

    async def hello(self, event: dict[str, Any]) -> None:
        token = event.get("token")
        last_seq = event.get("last_seq", 0) or 0
        lang = event.get("lang")
        if token is not None and not (isinstance(token, str) and clean_text(token)):
            raise ChatError("invalid_field", "'token' must be a string or null")
        if (
            not isinstance(last_seq, int)
            or isinstance(last_seq, bool)
            or not 0 <= last_seq < MAX_INT
        ):
            raise ChatError("invalid_field", "'last_seq' must be a whole number ≥ 0")
        if lang is not None and lang not in ("en", "ja"):
            lang = None
        resume = event.get("resume")  # a mail's "reopen the chat" link: /?resume=<mail token>
        if resume is not None and not (isinstance(resume, str) and 0 < len(resume) <= 128):
            raise ChatError("invalid_field", "'resume' must be the token of a mail's link or null")
        if resume:
            reopened = await self.conversations.resume_by_mail(resume)
            if reopened is None:
                raise ChatError(
                    "invalid_token",
                    "no conversation has this link: send hello without 'resume' to start one",
                )
            ref, token = reopened
            last_seq = 0  # another conversation than this browser had: its whole history
        elif token:
            found = await self.conversations.resume(token)
            if found is None:
                raise ChatError(
                    "invalid_token",
                    "no conversation has this token: send hello without a token to start a new one",
                )
            ref = found
        else:
            origin = self.websocket.headers.get("origin")
            ref, token = await self.conversations.start(lang, origin and origin[:MAX_ORIGIN])
            last_seq = 0
        await self._subscribe(ref)
        async with self._send_lock:
            self.last_sent_seq = min(last_seq, ref.last_seq)
            await self._send_unlocked(
                {
                    "type": "welcome",
                    "token": token,
                    "conversation_id": ref.public_id,
                    "state": ref.state,
                    "lang": ref.lang,
                    "last_seq": ref.last_seq,
                    "attachments": self.attaching,
                }
            )
            for message in await self.conversations.messages_after(ref.id, last_seq):
                await self._send_unlocked(message)
            await self._send_unlocked(await self.conversations.current_state(ref.id))

    async def choose(self, event: dict[str, Any]) -> None:
        """A quick reply: one of the articles a `suggestions` message offered."""
        assert self.ref is not None
        client_id = self._checked_client_id(event)
        article_id = field(event, "article_id", str)
        if not 0 < len(article_id) <= MAX_ARTICLE_ID:
            raise ChatError("invalid_field", f"'article_id' must be 1-{MAX_ARTICLE_ID} characters")
        stored, duplicate = await self.conversations.choose(self.ref, client_id, article_id)
        if duplicate:
            async with self._send_lock:
                await self.websocket.send_text(json.dumps(stored, ensure_ascii=False))

    @staticmethod
    def _checked_client_id(event: dict[str, Any]) -> str:
        client_id = field(event, "client_id", str)
        if not client_id.strip() or len(client_id) > MAX_CLIENT_ID:
            raise ChatError("invalid_field", f"'client_id' must be 1-{MAX_CLIENT_ID} characters")
        return client_id

    async def message(self, event: dict[str, Any]) -> None:
        assert self.ref is not None
        client_id = self._checked_client_id(event)
        text = field(event, "text", str)
        if not text.strip():
            raise ChatError("empty_text", "the message is empty")
        if len(text) > self.max_chars:
            raise ChatError(
                "text_too_long",
                f"the message has {len(text)} characters; the limit is {self.max_chars}",
            )
        stored, duplicate = await self.conversations.receive(self.ref, client_id, text.strip())
        if duplicate:
            # Resent after a dropped connection: acknowledge again, store nothing.
            async with self._send_lock:
                await self.websocket.send_text(json.dumps(stored, ensure_ascii=False))

    # ------------------------------------------------------------------ delivery
    async def _subscribe(self, ref: ConversationRef) -> None:
        if self._forwarder is not None:
            await self._forwarder.stop()
        await self._subscription.aclose()
        self._subscription = AsyncExitStack()
        queue = await self._subscription.enter_async_context(
            self.hub.subscribe(channels.conversation(ref.public_id))
        )
        self.ref = ref
        self._forwarder = forwarder(queue, self._deliver)

    async def _deliver(self, event: Frame) -> bool:
        """Send one event from the conversation's channel; False to stop forwarding."""
        if event.get("type") == OVERFLOW:
            # This reader fell too far behind and missed events: make the client
            # reconnect, and the replay from its last seq fills the gap.
            await self.websocket.close(code=status.WS_1013_TRY_AGAIN_LATER)
            return False
        await self.send(event)
        return True

    @staticmethod
    def _client_id(raw: str) -> str | None:
        return echoed_field(raw, "client_id")
