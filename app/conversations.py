"""Conversations: storing messages in order, running the bot, escalating to the queue.

Every message is stored (with its per-conversation `seq`) before it is acknowledged or
delivered. Messages of one conversation are processed one at a time, so `seq` order is
the order customers and the bot spoke, and delivery follows it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.csat import csat_state
from app.events import Event, message_event, state_event, typing_event
from app.hub import Hub
from bot import messages
from bot.policy import Bot, Decision, DecisionKind, HandoffReason, Turn
from handoff.states import ConversationState, check_transition
from storage.models import Conversation, Handoff, Message, User

log = logging.getLogger(__name__)

HISTORY_TURNS = 20
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ChatError(Exception):
    """A request the chat cannot carry out; `code` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ConversationRef:
    """What a connection needs to address its conversation."""

    id: int
    public_id: str
    state: str
    lang: str
    last_seq: int

    @property
    def channel(self) -> str:
        return f"conversation:{self.public_id}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ref(conversation: Conversation) -> ConversationRef:
    return ConversationRef(
        conversation.id,
        conversation.public_id,
        conversation.state,
        conversation.lang,
        conversation.last_seq,
    )


class ConversationService:
    """The customer side of conversations."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: Hub,
        bot: Bot,
        *,
        average_handle_seconds: int = 240,
        run_bot: Callable[..., Any] | None = None,
        hours_label: str = "",
    ) -> None:
        self.sessions = sessions
        self.hub = hub
        self.bot = bot
        self.average_handle_seconds = average_handle_seconds
        # a lock lives while someone holds or waits for it: no lock per conversation forever
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Queue[tuple[ConversationRef, int, str]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._run_bot = run_bot or (lambda fn, *args: anyio.to_thread.run_sync(fn, *args))
        self.hours_label = hours_label
        # Set by the agents' side (app.agents.AgentService) when it exists.
        self.queue_changed: Callable[[], Awaitable[None]] | None = None
        self.availability: Callable[[], tuple[bool, int]] = lambda: (True, 0)
        self.queue_position: (
            Callable[[AsyncSession, Conversation], Awaitable[tuple[int, int]]] | None
        ) = None

    def lock_for(self, public_id: str) -> asyncio.Lock:
        """One conversation's messages are stored and answered one at a time."""
        lock = self._locks.get(public_id)
        if lock is None:
            lock = self._locks[public_id] = asyncio.Lock()
        return lock

    # ------------------------------------------------------------------ lifecycle
    async def start(
        self, lang: str | None = None, origin: str | None = None
    ) -> tuple[ConversationRef, str]:
        """A new conversation and its secret token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        async with self.sessions.begin() as session:
            conversation = Conversation(
                public_id=str(uuid.uuid4()),
                token_hash=hash_token(token),
                state=ConversationState.BOT.value,
                lang=lang or "en",
                origin=origin,
                last_seq=0,
                consecutive_misses=0,
            )
            session.add(conversation)
            await session.flush()
            return _ref(conversation), token

    async def resume(self, token: str) -> ConversationRef | None:
        async with self.sessions() as session:
            conversation = await session.scalar(
                select(Conversation).where(Conversation.token_hash == hash_token(token))
            )
            return _ref(conversation) if conversation is not None else None

    async def messages_after(self, conversation_id: int, last_seq: int) -> list[Event]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.seq > last_seq)
                .order_by(Message.seq)
            )
            return [message_event(m) for m in rows]

    async def current_state(self, conversation_id: int) -> Event:
        async with self.sessions() as session:
            conversation = await session.get_one(Conversation, conversation_id)
            return await self.state_event(session, conversation)

    async def drain(self) -> None:
        """Wait until no bot reply is being worked on (at shutdown, and in tests)."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ customer input
    async def receive(self, ref: ConversationRef, client_id: str, text: str) -> tuple[Event, bool]:
        """Store a customer message (once per client_id) and deliver it.

        Returns the stored message's event and whether it was a duplicate. A new message
        in a conversation the bot owns gets its reply in the background.
        """
        async with self.lock_for(ref.public_id), self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
            existing = await session.scalar(
                select(Message).where(
                    Message.conversation_id == ref.id, Message.client_id == client_id
                )
            )
            if existing is not None:  # a resend: acknowledge again, even if closed since
                return message_event(existing), True
            if conversation.state == ConversationState.CLOSED:
                raise ChatError(
                    "conversation_closed", "this conversation is closed: start a new one"
                )
            message = await self.append(
                session, conversation, role="customer", kind="text", text=text, client_id=client_id
            )
            event = message_event(message)
            bot_owns_it = conversation.state == ConversationState.BOT
        await self.hub.publish(ref.channel, event)
        if bot_owns_it:
            self._enqueue_reply(ref, message.seq, text)
        else:  # agents' queue previews and unanswered counts change
            await self._queue_changed()
        return event, False

    def _enqueue_reply(self, ref: ConversationRef, seq: int, text: str) -> None:
        """Replies run in order, one conversation at a time, without blocking its input."""
        pending = self._pending.setdefault(ref.public_id, asyncio.Queue())
        pending.put_nowait((ref, seq, text))
        if ref.public_id not in self._workers:
            task = asyncio.create_task(self._work(ref.public_id))
            self._workers[ref.public_id] = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _work(self, public_id: str) -> None:
        pending = self._pending[public_id]
        try:
            while not pending.empty():
                ref, seq, text = pending.get_nowait()
                await self._reply(ref, seq, text)
        finally:  # no await since the loop's last check: nothing was queued meanwhile
            self._workers.pop(public_id, None)
            if pending.empty():
                self._pending.pop(public_id, None)
            if pending.empty():
                self._pending.pop(public_id, None)

    async def feedback(self, ref: ConversationRef, seq: int, helpful: bool) -> Event:
        async with self.sessions.begin() as session:
            message = await session.scalar(
                select(Message).where(Message.conversation_id == ref.id, Message.seq == seq)
            )
            if message is None or message.role != "bot":
                raise ChatError("unknown_message", f"seq {seq} is not a bot message here")
            message.helpful = helpful
        event = {"type": "feedback", "seq": seq, "helpful": helpful}
        await self.hub.publish(ref.channel, event)
        return event

    async def request_handoff(self, ref: ConversationRef) -> None:
        """The customer pressed "talk to a person"."""
        async with self.lock_for(ref.public_id):
            async with self.sessions.begin() as session:
                conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
                if conversation.state != ConversationState.BOT:
                    state = await self.state_event(session, conversation)
                    notice = None
                else:
                    lang = conversation.lang
                    reason = HandoffReason.CUSTOMER_REQUEST
                    notice = await self.append(
                        session,
                        conversation,
                        role="bot",
                        kind="handoff",
                        lang=lang,
                        text=self.handoff_text(
                            messages.text(f"handoff_{reason.value}", lang), lang
                        ),
                    )
                    await self._escalate(
                        session,
                        conversation,
                        HandoffReason.CUSTOMER_REQUEST,
                        {"via": "button"},
                        notice.seq,
                    )
                    state = await self.state_event(session, conversation)
                    notice_event = message_event(notice)
            if notice is not None:
                await self.hub.publish(ref.channel, notice_event)
            await self.hub.publish(ref.channel, state)
        if notice is not None:
            await self._queue_changed()

    # ------------------------------------------------------------------ the bot
    async def _reply(self, ref: ConversationRef, seq: int, text: str) -> None:
        try:
            await self._reply_unsafe(ref, seq, text)
        except Exception:  # a failed reply must not leave the customer without an answer
            log.exception("bot reply to conversation %s seq %s failed", ref.public_id, seq)
            await self.hub.publish(ref.channel, typing_event("bot", False))
            try:
                await self._apologise(ref)
            except Exception:
                log.exception("could not store the apology in %s", ref.public_id)

    async def _apologise(self, ref: ConversationRef) -> None:
        async with self.lock_for(ref.public_id), self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id)
            notice = await self.notice(session, conversation, "bot_error")
            event = message_event(notice)
        await self.hub.publish(ref.channel, event)

    async def _reply_unsafe(self, ref: ConversationRef, seq: int, text: str) -> None:
        history = await self._history(ref.id, before_seq=seq)
        await self.hub.publish(ref.channel, typing_event("bot", True))
        decision: Decision | None = await self._run_bot(self.bot.respond, text, history)
        assert decision is not None
        events: list[Event] = []
        async with self.lock_for(ref.public_id), self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
            if conversation.state != ConversationState.BOT:
                decision = None  # a person took over while the bot was thinking
            else:
                conversation.lang = decision.lang
                missed = decision.kind is DecisionKind.DECLINE
                conversation.consecutive_misses = (
                    conversation.consecutive_misses + 1 if missed else 0
                )
                reply = await self.append(
                    session,
                    conversation,
                    role="bot",
                    kind=decision.kind.value,
                    text=self.handoff_text(decision.text, decision.lang)
                    if decision.handoff
                    else decision.text,
                    lang=decision.lang,
                    citations=[vars(c) for c in decision.citations],
                    confidence=decision.confidence,
                    meta={"scores": _jsonable(decision.scores), "reply_to": seq},
                )
                events.append(message_event(reply))
                if decision.handoff_reason is not None:
                    await self._escalate(
                        session,
                        conversation,
                        decision.handoff_reason,
                        decision.scores,
                        reply.seq,
                    )
                    events.append(await self.state_event(session, conversation))
        for event in events:
            await self.hub.publish(ref.channel, event)
        await self.hub.publish(ref.channel, typing_event("bot", False))
        if decision is not None and decision.handoff:
            await self._queue_changed()

    def handoff_text(self, text: str, lang: str) -> str:
        """The handoff notice, plus what happens when nobody can answer now."""
        is_open, online = self.availability()
        if not is_open:
            return (
                f"{text}\n\n{messages.text('handoff_outside_hours', lang, hours=self.hours_label)}"
            )
        if online == 0:
            return f"{text}\n\n{messages.text('handoff_no_agent', lang)}"
        return text

    async def _queue_changed(self) -> None:
        if self.queue_changed is not None:
            await self.queue_changed()

    async def contact(self, ref: ConversationRef, email: str, message: str) -> None:
        """Offline follow-up: the customer leaves an e-mail address and a message."""
        email = email.strip()
        if not _EMAIL.match(email) or len(email) > 320:
            raise ChatError("invalid_field", "'email' is not an e-mail address")
        async with self.lock_for(ref.public_id), self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
            if conversation.state == ConversationState.CLOSED:
                raise ChatError(
                    "conversation_closed", "this conversation is closed: start a new one"
                )
            conversation.contact_email = email
            conversation.contact_message = message.strip()[:4000] or None
            if conversation.state == ConversationState.BOT:
                await self._escalate(
                    session,
                    conversation,
                    HandoffReason.CUSTOMER_REQUEST,
                    {"via": "offline_contact"},
                    None,
                )
            thanks = await self.notice(session, conversation, "contact_thanks", email=email)
            events = [message_event(thanks), await self.state_event(session, conversation)]
        for event in events:
            await self.hub.publish(ref.channel, event)
        await self._queue_changed()

    async def customer_typing(self, ref: ConversationRef, typing: bool) -> None:
        await self.hub.publish(ref.channel, typing_event("customer", typing))

    async def _history(self, conversation_id: int, before_seq: int) -> list[Turn]:
        async with self.sessions() as session:
            rows = list(
                await session.scalars(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation_id,
                        # every earlier customer message, and every reply so far (replies to
                        # messages sent before this one may have been stored after it)
                        (Message.seq < before_seq) | (Message.role != "customer"),
                    )
                    .order_by(Message.seq.desc())
                    .limit(HISTORY_TURNS)
                )
            )
        return [Turn(m.role, m.text, m.kind, m.helpful) for m in reversed(rows)]

    # ------------------------------------------------------------------ storage helpers
    async def notice(
        self, session: AsyncSession, conversation: Conversation, key: str, **params: object
    ) -> Message:
        """Store a system notice (a `bot.messages` text in the conversation's language)."""
        return await self.append(
            session,
            conversation,
            role="system",
            kind="notice",
            lang=conversation.lang,
            text=messages.text(key, conversation.lang, **params),
        )

    async def append(
        self, session: AsyncSession, conversation: Conversation, **fields: Any
    ) -> Message:
        """Insert a message with the conversation's next seq (atomic in the transaction)."""
        seq = await session.scalar(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(last_seq=Conversation.last_seq + 1, updated_at=datetime.now(UTC))
            .returning(Conversation.last_seq)
        )
        assert seq is not None
        conversation.last_seq = seq
        fields.setdefault("citations", [])
        fields.setdefault("meta", {})
        message = Message(conversation_id=conversation.id, seq=seq, **fields)
        session.add(message)
        await session.flush()
        return message

    async def _escalate(
        self,
        session: AsyncSession,
        conversation: Conversation,
        reason: HandoffReason,
        scores: dict[str, Any],
        seq: int | None,
    ) -> None:
        current = ConversationState(conversation.state)
        check_transition(current, ConversationState.WAITING)
        conversation.state = ConversationState.WAITING.value
        conversation.escalation_reason = reason.value
        conversation.escalation_scores = _jsonable(scores)
        conversation.escalated_at = datetime.now(UTC)
        is_open, online = self.availability()
        conversation.offline = not is_open or online == 0
        session.add(
            Handoff(
                conversation_id=conversation.id,
                reason=reason.value,
                scores=_jsonable(scores),
                message_seq=seq,
            )
        )
        await session.flush()

    async def state_event(
        self,
        session: AsyncSession,
        conversation: Conversation,
        place: tuple[int, int] | None = None,
    ) -> Event:
        """The conversation's state as the customer sees it (queue place while waiting).

        `place` is (position, estimated wait) when the caller already knows it.
        """
        agent = None
        if conversation.state == ConversationState.AGENT and conversation.agent_id:
            owner = await session.get(User, conversation.agent_id)
            agent = owner.display_name if owner else None
        if conversation.state == ConversationState.CLOSED:
            return {
                **state_event(conversation),
                "agent": agent,
                "outcome": conversation.outcome,
                "csat": csat_state(conversation),
            }
        if conversation.state != ConversationState.WAITING:
            return {**state_event(conversation), "agent": agent}
        if place is not None:
            position, wait = place
        elif self.queue_position is not None:
            position, wait = await self.queue_position(session, conversation)
        else:
            ahead = await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.state == ConversationState.WAITING.value,
                    Conversation.escalated_at < conversation.escalated_at,
                )
            )
            position = int(ahead or 0) + 1
            wait = position * self.average_handle_seconds
        is_open, online = self.availability()  # now, not when it was queued
        offline = not is_open or online == 0
        return {**state_event(conversation, position, wait), "offline": offline}


def _jsonable(value: Any) -> Any:
    """Scores as plain JSON (floats rounded, tuples to lists)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value
