"""The customers' side of conversations: start, resume, receive, feedback, contact.

Every message is stored (with its per-conversation `seq`) before it is acknowledged or
delivered. Messages of one conversation are processed one at a time (the conversation's
lock), so `seq` order is the order customers and the bot spoke, and delivery follows it.
Each action commits, then emits its events on the bus; listeners deliver them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations import transcript
from conversations.csat import csat_state
from conversations.errors import ChatError, ConversationMoved
from conversations.escalation import escalate, hand_off
from conversations.frames import feedback_frame, message_frame, state_frame, typing_frame
from conversations.ports import QueueInfo
from conversations.replies import BOT_ANSWERS_IN, BotReplies
from conversations.timing import ReplyClock
from delivery.events import (
    ConversationUpdated,
    DomainEvent,
    EventBus,
    FeedbackFrame,
    MessageFrame,
    QueueChanged,
    StateFrame,
)
from delivery.locks import Locks
from handoff.reasons import HandoffReason
from handoff.states import ConversationState
from storage.engine import write
from storage.models import Conversation, Message, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ConversationRef:
    """What a connection needs to address its conversation."""

    id: int
    public_id: str
    state: str
    lang: str
    last_seq: int


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
        bus: EventBus,
        locks: Locks,
        queue: QueueInfo,
        replies: BotReplies,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.locks = locks
        self.queue = queue
        self.replies = replies

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

    async def resume_by_mail(self, mail_token: str) -> tuple[ConversationRef, str] | None:
        """The conversation a mail's "reopen the chat" link names, with a new chat token.

        The link carries the conversation's mail token (also its reply address); the widget
        that follows it gets a fresh chat token, and the one an earlier browser held stops
        working, so the conversation has one widget at a time.
        """
        token = secrets.token_urlsafe(32)
        async with self.sessions.begin() as session:
            conversation = await session.scalar(
                select(Conversation).where(Conversation.mail_token == mail_token)
            )
            if conversation is None:
                return None
            conversation.token_hash = hash_token(token)
            return _ref(conversation), token

    async def messages_after(self, conversation_id: int, last_seq: int) -> list[MessageFrame]:
        async with self.sessions() as session:
            return await transcript.frames_after(session, conversation_id, last_seq)

    async def current_state(self, conversation_id: int) -> StateFrame:
        async with self.sessions() as session:
            conversation = await session.get_one(Conversation, conversation_id)
            return await self.state_frame(session, conversation)

    async def drain(self) -> None:
        """Wait until no bot reply is being worked on (at shutdown, and in tests)."""
        await self.replies.drain()

    # ------------------------------------------------------------------ customer input
    async def receive(
        self, ref: ConversationRef, client_id: str, text: str
    ) -> tuple[MessageFrame, bool]:
        """Store a customer message (once per client_id) and deliver it.

        Returns the stored message's frame and whether it was a duplicate. A new message
        in a conversation the bot owns gets its reply in the background.
        """
        clock = ReplyClock()
        self.replies.prepare(text, clock)  # the models start while the message is stored
        async with self.locks.hold(ref.public_id):
            message, duplicate, state = await transcript.until_unmoved(
                partial(self._store_message, ref, client_id, text)
            )
        clock.mark("stored")
        frame = message_frame(message)
        if duplicate:  # a resend: acknowledged again, even if closed since
            return frame, True
        # While it waits for a person the bot keeps answering questions (as its handoff
        # notice promises); once a person has it, the bot is silent.
        bot_owns_it = state in BOT_ANSWERS_IN
        queued = state != ConversationState.BOT
        await self.bus.emit(ConversationUpdated(ref.public_id, frame))
        if bot_owns_it:
            clock.mark("acknowledged")
            self.replies.enqueue(ref.id, ref.public_id, message.seq, text, clock)
        if queued:
            # agents' previews and unanswered counts; nobody's place in the queue
            await self.bus.emit(QueueChanged(places=False))
        return frame, False

    async def _store_message(
        self, ref: ConversationRef, client_id: str, text: str
    ) -> tuple[Message, bool, str]:
        """Under the conversation's lock: store a customer message, unless it is a resend.
        The message, whether it was one (already stored), and the conversation's state.

        One write transaction of two statements (`transcript.add_customer_text`), nothing
        read first: on SQLite write transactions take turns, one at a time in the process,
        and a turn is held until its commit (`storage.engine.write`: in one trip to the
        writer's thread, committed with the writes queued beside it).
        """
        try:
            stored = await write(
                self.sessions,
                lambda connection: transcript.add_customer_text(
                    connection, ref.id, client_id, text, BOT_ANSWERS_IN
                ),
            )
        except IntegrityError as error:  # this client_id is stored already, or it is not
            failed: IntegrityError | None = error
        else:
            if stored is not None:
                message, state = stored
                return message, False, state
            failed = None  # closed
        async with self.sessions() as session:
            conversation = await session.get_one(Conversation, ref.id)
            existing = await transcript.by_client_id(session, ref.id, client_id)
        if existing is not None:  # a resend: acknowledged again, even if closed since
            return existing, True, conversation.state
        _refuse_closed(conversation)
        if failed is not None:
            raise failed
        # closed when the seq was asked for, open again now (a mail reopened it)
        raise ConversationMoved(f"conversation {ref.public_id} was closed, and is not now")

    async def choose(
        self, ref: ConversationRef, client_id: str, article_id: str
    ) -> tuple[MessageFrame, bool]:
        """The customer chose one of the articles the bot offered; it answers from it.

        The choice is stored as the customer's message (the article's title), once per
        client_id, and answered in the background like a question.

        Raises:
            ChatError: `unknown_choice` when the bot never offered this article here.
        """
        async with self.locks.hold(ref.public_id), self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
            existing = await transcript.by_client_id(session, ref.id, client_id)
            if existing is not None:
                return message_frame(existing), True
            _refuse_closed(conversation)
            title = await transcript.offered(session, ref.id, article_id)
            if title is None:
                raise ChatError(
                    "unknown_choice",
                    f"article {article_id!r} was not offered in this conversation: "
                    "choose one of a suggestions message's citations",
                )
            bot_owns_it = conversation.state in BOT_ANSWERS_IN
            message = await transcript.append(
                session,
                conversation,
                role="customer",
                kind="choice",
                text=title,
                client_id=client_id,
                reply_pending=bot_owns_it,
                meta={"article_id": article_id},
            )
            frame = message_frame(message)
        await self.bus.emit(ConversationUpdated(ref.public_id, frame))
        if bot_owns_it:
            self.replies.enqueue(ref.id, ref.public_id, message.seq, title)
        return frame, False

    async def feedback(self, ref: ConversationRef, seq: int, helpful: bool) -> FeedbackFrame:
        async with self.sessions.begin() as session:
            message = await session.scalar(
                select(Message).where(Message.conversation_id == ref.id, Message.seq == seq)
            )
            if message is None or message.role != "bot":
                raise ChatError("unknown_message", f"seq {seq} is not a bot message here")
            message.helpful = helpful
        frame = feedback_frame(seq, helpful)
        await self.bus.emit(ConversationUpdated(ref.public_id, frame))
        return frame

    async def request_handoff(self, ref: ConversationRef) -> None:
        """The customer pressed "talk to a person"."""
        events: list[DomainEvent] = []
        async with self.locks.hold(ref.public_id):
            async with self.sessions.begin() as session:
                conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
                if conversation.state == ConversationState.BOT:
                    reason = HandoffReason.CUSTOMER_REQUEST
                    notice = await hand_off(
                        session,
                        conversation,
                        self.queue,
                        reason,
                        f"handoff_{reason.value}",
                        {"via": "button"},
                    )
                    events.append(ConversationUpdated(ref.public_id, message_frame(notice)))
                state = await self.state_frame(session, conversation)
            # delivered under the lock, so a concurrent reply cannot overtake the notice
            await self.bus.emit(*events, ConversationUpdated(ref.public_id, state))
        if events:
            await self.bus.emit(QueueChanged())

    async def contact(self, ref: ConversationRef, email: str, message: str) -> None:
        """Offline follow-up: the customer leaves an e-mail address and a message."""
        email = email.strip()
        if not _EMAIL.match(email) or len(email) > 320:
            raise ChatError("invalid_field", "'email' is not an e-mail address")
        async with self.locks.hold(ref.public_id), self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, ref.id, with_for_update=True)
            _refuse_closed(conversation)
            conversation.contact_email = email
            conversation.contact_message = message.strip()[:4000] or None
            if conversation.state == ConversationState.BOT:
                await escalate(
                    session,
                    conversation,
                    HandoffReason.CUSTOMER_REQUEST,
                    {"via": "offline_contact"},
                    None,
                    await self.queue.availability(),
                )
            thanks = await transcript.notice(session, conversation, "contact_thanks", email=email)
            events = [
                ConversationUpdated(ref.public_id, message_frame(thanks)),
                ConversationUpdated(ref.public_id, await self.state_frame(session, conversation)),
            ]
        await self.bus.emit(*events, QueueChanged())

    async def customer_typing(self, ref: ConversationRef, typing: bool) -> None:
        await self.bus.emit(ConversationUpdated(ref.public_id, typing_frame("customer", typing)))

    # ------------------------------------------------------------------ state
    async def state_frame(
        self,
        session: AsyncSession,
        conversation: Conversation,
        place: tuple[int, int] | None = None,
    ) -> StateFrame:
        """The conversation's state as the customer sees it (queue place while waiting).

        `place` is (position, estimated wait) when the caller already knows it.
        """
        if conversation.state == ConversationState.WAITING:
            if place is None:
                place = await self.queue.place(session, conversation)
            available = await self.queue.availability()  # now, not when it was queued
            return state_frame(conversation, place=place, available=available)
        agent = None
        # a closed conversation names the agent who had it last, as its transcript does
        if (
            conversation.state in (ConversationState.AGENT, ConversationState.CLOSED)
            and conversation.agent_id
        ):
            owner = await session.get(User, conversation.agent_id)
            agent = owner.display_name if owner else None
        if conversation.state == ConversationState.CLOSED:
            return state_frame(conversation, agent=agent, csat=csat_state(conversation))
        return state_frame(conversation, agent=agent)


def _refuse_closed(conversation: Conversation) -> None:
    if conversation.state == ConversationState.CLOSED:
        raise ChatError("conversation_closed", "this conversation is closed: start a new one")
