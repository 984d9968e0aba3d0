"""Conversations: storing messages in order, running the bot, escalating to the queue.

Every message is stored (with its per-conversation `seq`) before it is acknowledged or
delivered. Messages of one conversation are processed one at a time, so `seq` order is
the order customers and the bot spoke, and delivery follows it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Conversation, Handoff, Message
from app.events import Event, message_event, state_event, typing_event
from app.hub import Hub
from bot import messages
from bot.policy import Bot, Decision, HandoffReason, Turn
from handoff.states import ConversationState, check_transition

log = logging.getLogger(__name__)

HISTORY_TURNS = 20


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
    ) -> None:
        self.sessions = sessions
        self.hub = hub
        self.bot = bot
        self.average_handle_seconds = average_handle_seconds
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._run_bot = run_bot or (lambda fn, *args: anyio.to_thread.run_sync(fn, *args))

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
            return await self._state_event(session, conversation)

    async def drain(self) -> None:
        """Wait for the bot replies still being worked on (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ customer input
    async def receive(self, ref: ConversationRef, client_id: str, text: str) -> tuple[Event, bool]:
        """Store a customer message (once per client_id) and deliver it.

        Returns the stored message's event and whether it was a duplicate. A new message
        in a conversation the bot owns gets its reply in the background.
        """
        async with self._locks[ref.id], self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
            if conversation.state == ConversationState.CLOSED:
                raise ChatError(
                    "conversation_closed", "this conversation is closed: start a new one"
                )
            existing = await session.scalar(
                select(Message).where(
                    Message.conversation_id == ref.id, Message.client_id == client_id
                )
            )
            if existing is not None:
                return message_event(existing), True
            message = await self._append(
                session, conversation, role="customer", kind="text", text=text, client_id=client_id
            )
            event = message_event(message)
            bot_owns_it = conversation.state == ConversationState.BOT
        await self.hub.publish(ref.channel, event)
        if bot_owns_it:
            task = asyncio.create_task(self._reply(ref, message.seq, text))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return event, False

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
        async with self._locks[ref.id]:
            async with self.sessions.begin() as session:
                conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
                if conversation.state != ConversationState.BOT:
                    state = await self._state_event(session, conversation)
                    notice = None
                else:
                    lang = conversation.lang
                    reason = HandoffReason.CUSTOMER_REQUEST
                    notice = await self._append(
                        session,
                        conversation,
                        role="bot",
                        kind="handoff",
                        lang=lang,
                        text=messages.text(f"handoff_{reason.value}", lang),
                    )
                    await self._escalate(
                        session,
                        conversation,
                        HandoffReason.CUSTOMER_REQUEST,
                        {"via": "button"},
                        notice.seq,
                    )
                    state = await self._state_event(session, conversation)
                    notice_event = message_event(notice)
            if notice is not None:
                await self.hub.publish(ref.channel, notice_event)
            await self.hub.publish(ref.channel, state)

    # ------------------------------------------------------------------ the bot
    async def _reply(self, ref: ConversationRef, seq: int, text: str) -> None:
        try:
            await self._reply_unsafe(ref, seq, text)
        except Exception:  # a failed reply must not kill the conversation
            log.exception("bot reply to conversation %s seq %s failed", ref.public_id, seq)
            await self.hub.publish(ref.channel, typing_event("bot", False))

    async def _reply_unsafe(self, ref: ConversationRef, seq: int, text: str) -> None:
        async with self._locks[ref.id]:
            history = await self._history(ref.id, before_seq=seq)
            await self.hub.publish(ref.channel, typing_event("bot", True))
            decision: Decision = await self._run_bot(self.bot.respond, text, history)
            events: list[Event] = []
            async with self.sessions.begin() as session:
                conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
                if conversation.state != ConversationState.BOT:
                    decision = None  # type: ignore[assignment]  # a person took over meanwhile
                else:
                    conversation.lang = decision.lang
                    reply = await self._append(
                        session,
                        conversation,
                        role="bot",
                        kind=decision.kind.value,
                        text=decision.text,
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
                        events.append(await self._state_event(session, conversation))
            for event in events:
                await self.hub.publish(ref.channel, event)
            await self.hub.publish(ref.channel, typing_event("bot", False))

    async def _history(self, conversation_id: int, before_seq: int) -> list[Turn]:
        async with self.sessions() as session:
            rows = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.seq < before_seq)
                    .order_by(Message.seq.desc())
                    .limit(HISTORY_TURNS)
                )
            )
        return [Turn(m.role, m.text, m.kind, m.helpful) for m in reversed(rows)]

    # ------------------------------------------------------------------ storage helpers
    async def _append(
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
        session.add(
            Handoff(
                conversation_id=conversation.id,
                reason=reason.value,
                scores=_jsonable(scores),
                message_seq=seq,
            )
        )
        await session.flush()

    async def _state_event(self, session: AsyncSession, conversation: Conversation) -> Event:
        if conversation.state != ConversationState.WAITING:
            return state_event(conversation)
        ahead = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.state == ConversationState.WAITING.value,
                Conversation.escalated_at < conversation.escalated_at,
            )
        )
        position = int(ahead or 0) + 1
        return state_event(conversation, position, position * self.average_handle_seconds)


def _jsonable(value: Any) -> Any:
    """Scores as plain JSON (floats rounded, tuples to lists)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def turns(rows: Sequence[Message]) -> list[Turn]:
    return [Turn(m.role, m.text, m.kind, m.helpful) for m in rows]
