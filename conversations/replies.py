"""The bot's replies: run in the background, in order, one conversation at a time.

A customer message the bot owns is stored with `reply_pending` set, in the transaction
that stores it, and queued on the reply work queue under its conversation's id; the job
asks the bot (off the event loop), then stores its decision, clears the mark and, when the
bot hands off, escalates, all in one transaction under the conversation's lock.

The mark is what makes replies durable: after a crash, `recover` queues every message
still marked, and a server that finds the mark already cleared (another server answered
first) stores nothing, so each message gets exactly one reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.policy import Bot, Decision, DecisionKind, Turn
from conversations import transcript
from conversations.escalation import escalate, handoff_text, jsonable
from conversations.frames import message_frame, state_frame, typing_frame
from conversations.mailing import CHAT, for_channel
from conversations.ports import Availability, QueueInfo
from conversations.timing import ReplyClock
from delivery.events import (
    ConversationUpdated,
    DomainEvent,
    EventBus,
    QueueChanged,
    ReplyOwed,
    ReplyTimed,
    StateFrame,
)
from delivery.locks import Locks
from delivery.tasks import Loop
from delivery.work import ReplyQueue
from handoff.states import ConversationState
from storage.engine import write
from storage.models import Conversation, Message

log = logging.getLogger(__name__)

#: What the bot says while the conversation waits for a person: answers to questions,
#: not another handoff or a decline (the person will take it from here).
ANSWERS_WHILE_WAITING = frozenset({DecisionKind.ANSWER, DecisionKind.SUGGEST})
#: The states in which the bot answers customer messages (while it waits, only with
#: `ANSWERS_WHILE_WAITING`); anything else it says only while it has the conversation.
BOT_ANSWERS_IN = frozenset({ConversationState.BOT.value, ConversationState.WAITING.value})
BOT_ONLY = frozenset({ConversationState.BOT.value})

RunBot = Callable[[Callable[[str, list[Turn]], Decision], str, list[Turn]], Awaitable[Decision]]


async def _in_thread(
    respond: Callable[[str, list[Turn]], Decision], text: str, history: list[Turn]
) -> Decision:
    return await anyio.to_thread.run_sync(respond, text, history)


class BotReplies:
    """Queues and writes the bot's answers to customer messages."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        locks: Locks,
        work: ReplyQueue,
        queue: QueueInfo,
        bot: Bot,
        *,
        run_bot: RunBot | None = None,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.locks = locks
        self.work = work
        self.queue = queue
        self.bot = bot
        self._run_bot = run_bot or _in_thread
        self._queued: set[tuple[str, int]] = set()
        self._sweeper: Loop[None] | None = None

    def prepare(self, text: str, clock: ReplyClock) -> None:
        """A message arrives that the bot will likely answer: start its models now, while
        the message is stored (a message the bot does not answer costs an unused
        encoding); `clock` hears when they are done. Never fails the message: a model that
        cannot start is met again, and reported, when the reply asks for it."""
        try:
            clock.watch(self.bot.prefetch(text))
        except Exception:
            log.warning("could not start the models early for a message", exc_info=True)

    def enqueue(
        self,
        conversation_id: int,
        public_id: str,
        seq: int,
        text: str,
        clock: ReplyClock | None = None,
        *,
        owed: bool = False,
    ) -> None:
        """Answer message `seq` after the conversation's earlier messages are answered;
        `owed`: a message left unanswered at a hand-back, never answered with a handoff
        (asked of the agent, it must not send the chat straight back to the queue);
        with `clock`, the message's arrival, the reply's steps are timed (`ReplyTimed`)."""
        if (public_id, seq) in self._queued:
            return  # already waiting here (a recovery sweep found it again)
        self._queued.add((public_id, seq))
        answer = partial(self._answer, conversation_id, public_id, seq, text, clock, owed)
        self.work.submit(public_id, partial(self._reply, answer, conversation_id, public_id, seq))

    async def on_event(self, event: DomainEvent) -> None:
        """The bus listener: a message the bot owes a reply (a conversation handed back
        with the customer's question unanswered) is answered like a new one."""
        if isinstance(event, ReplyOwed):
            self.enqueue(event.conversation_id, event.public_id, event.seq, event.text, owed=True)

    async def drain(self) -> None:
        await self.work.drain()

    async def recover(self, older_than_seconds: float = 0.0) -> int:
        """Queue every customer message still waiting for its reply; how many there were.

        At start-up (`older_than_seconds=0`) that is what a crash left unanswered; later
        sweeps take only messages pending for a while, which a server that died held.
        """
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Message.conversation_id, Conversation.public_id, Message.seq, Message.text
                    )
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(Message.reply_pending, Message.created_at <= cutoff)
                    .order_by(Message.conversation_id, Message.seq)
                )
            ).all()
        for conversation_id, public_id, seq, text in rows:
            self.enqueue(conversation_id, public_id, seq, text)
        if rows:
            log.info("queued %d pending bot replies", len(rows))
        return len(rows)

    def start_sweeping(self, every_seconds: float = 30.0, older_than_seconds: float = 60.0) -> None:
        """Every so often, answer what another (dead) server left pending."""

        async def sweep(_: None) -> None:
            await self.recover(older_than_seconds)

        # stopped between sweeps, never in the middle of one; a failed sweep is logged
        self._sweeper = Loop(
            partial(asyncio.sleep, every_seconds), sweep, "sweeping pending replies"
        )

    async def close(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()

    async def _reply(
        self,
        answer: Callable[[], Awaitable[None]],
        conversation_id: int,
        public_id: str,
        seq: int,
    ) -> None:
        """`answer` message `seq`; if it fails, the customer gets an apology."""
        try:
            await answer()
        except Exception:  # a failed reply must not leave the customer without an answer
            log.exception("bot reply to conversation %s seq %s failed", public_id, seq)
            await self.bus.emit(ConversationUpdated(public_id, typing_frame("bot", False)))
            try:
                await self._apologise(conversation_id, public_id, seq)
            except Exception:
                log.exception("could not store the apology in %s", public_id)
        finally:
            self._queued.discard((public_id, seq))

    async def _apologise(self, conversation_id: int, public_id: str, seq: int) -> None:
        async with self.locks.hold(public_id), self.sessions.begin() as session:
            conversation = await session.get_one(Conversation, conversation_id)
            # the apology is the reply: it is not retried
            if not await _claim(session, conversation_id, seq):
                return  # answered meanwhile
            notice = await transcript.notice(session, conversation, "bot_error")
            frame = message_frame(notice)
        await self.bus.emit(ConversationUpdated(public_id, frame))

    async def _answer(
        self,
        conversation_id: int,
        public_id: str,
        seq: int,
        text: str,
        clock: ReplyClock | None,
        owed: bool = False,
    ) -> None:
        timed = clock is not None  # started when the message arrived, not by a sweep
        clock = clock or ReplyClock()
        clock.mark("queued")
        async with self.sessions() as session:
            connection = await session.connection()
            pending = (
                await connection.execute(
                    _PENDING, {"p_conversation": conversation_id, "p_seq": seq}
                )
            ).first()
            if pending is None:
                return  # answered already (by another server, before a crash)
            kind, meta, lang, channel = pending
            history = await transcript.history(session, conversation_id, before_seq=seq)
        clock.mark("read")
        chosen = (meta or {}).get("article_id") if kind == "choice" else None
        await self.bus.emit(ConversationUpdated(public_id, typing_frame("bot", True)))
        respond = self.bot.respond
        if chosen is not None:
            respond = partial(_answer_choice, self.bot, str(chosen), lang)
        decision: Decision | None = await self._run_bot(respond, text, history)
        assert decision is not None
        decision = for_channel(channel, decision)
        if owed and decision.handoff:
            decision = None  # a person just had the chat: their next message can ask again
        clock.mark("thought")
        async with self.locks.hold(public_id):
            if decision is not None and channel == CHAT and decision.handoff_reason is None:
                stored, events = await self._settle_reply(conversation_id, public_id, seq, decision)
            else:
                stored, events = await transcript.until_unmoved(
                    partial(self._settle, conversation_id, seq, decision)
                )
        clock.mark("settled")
        await self.bus.emit(*events, ConversationUpdated(public_id, typing_frame("bot", False)))
        clock.mark("sent")
        if stored is not None and stored.handoff:
            await self.bus.emit(QueueChanged())
        if stored is not None and timed:
            await self.bus.emit(ReplyTimed(tuple(clock.steps), clock.models))

    async def _settle_reply(
        self, conversation_id: int, public_id: str, seq: int, decision: Decision
    ) -> tuple[Decision | None, list[DomainEvent]]:
        """Under the conversation's lock: claim message `seq` and store the bot's reply in
        a chat, where it hands nothing off; the decision stored (None: nothing) and the
        events to emit.

        One write transaction of three statements (`storage.engine.write`: on SQLite in one
        trip to the writer's thread, in one transaction with the writes queued beside it),
        nothing read first: the statement that takes the
        reply's seq stores nothing unless the bot still has the conversation (or it waits
        for a person, and this is an answer or suggestions: the bot keeps answering
        questions while it waits). A chat's bot reply never goes out by mail (`mailing.recipient`).
        """
        states = BOT_ANSWERS_IN if decision.kind in ANSWERS_WHILE_WAITING else BOT_ONLY
        missed = decision.kind is DecisionKind.DECLINE

        def store(connection: Connection) -> Message | None:
            if not _claimed(connection, conversation_id, seq):
                return None  # another server stored the reply while we thought
            taken = transcript.take_seq(
                connection,
                conversation_id,
                state=states,
                sets={
                    "lang": decision.lang,
                    "consecutive_misses": transcript.ONE_MORE_MISS if missed else 0,
                },
            )
            if taken is None:
                return None  # a person took over while the bot was thinking
            fields = _reply_fields(decision, seq)
            return transcript.insert_message(connection, conversation_id, taken.seq, **fields)

        reply = await write(self.sessions, store)
        if reply is None:
            return None, []
        return decision, [ConversationUpdated(public_id, message_frame(reply))]

    async def _settle(
        self, conversation_id: int, seq: int, decision: Decision | None
    ) -> tuple[Decision | None, list[DomainEvent]]:
        """Under the conversation's lock: claim message `seq` and store the bot's decision,
        unless a person has the conversation now; the decision stored (None: nothing) and
        the events to emit.

        The conversation is read before the write transaction (everything that changes it
        holds its lock; the write checks its state again in the statement that takes the
        reply's seq): on SQLite writes take turns one at a time in the process, and every
        statement inside one keeps the others waiting. Frames are rendered after the
        commit, for the same reason.
        """
        async with self.sessions() as session:
            conversation = await session.get_one(Conversation, conversation_id)
        if conversation.state == ConversationState.WAITING and (
            decision is not None and decision.kind not in ANSWERS_WHILE_WAITING
        ):
            decision = None  # already queued: a person will take it from here
        elif conversation.state not in (ConversationState.BOT, ConversationState.WAITING):
            decision = None  # a person took over while the bot was thinking
        if decision is None:
            # nothing to store but the claim: one statement in the writer's thread (a
            # customer waiting for a person who writes again gets here, message by message)
            await write(self.sessions, partial(_claimed, conversation_id=conversation_id, seq=seq))
            return None, []
        hands_off = decision.handoff_reason is not None
        # who can answer now (presence: Redis with several servers), before the transaction
        available = await self.queue.availability() if decision.handoff or hands_off else None
        async with self.sessions.begin() as session:
            if not await _claim(session, conversation_id, seq):
                return None, []  # another server stored the reply while we thought
            if hands_off:  # it changes the conversation itself
                conversation = await session.merge(conversation, load=False)
            reply, escalated = await self._store(session, conversation, decision, seq, available)
        state: StateFrame | None = None
        if escalated:  # the customer's place in the queue, read once the move is committed
            place = None
            try:
                async with self.sessions() as session:
                    place = await self.queue.place(session, conversation)
            except Exception:  # the move is stored: the customer still hears of it
                log.warning("could not read the queue place of %s", conversation.public_id,
                            exc_info=True)  # fmt: skip
            state = state_frame(conversation, place=place, available=available)
        events: list[DomainEvent] = [
            ConversationUpdated(conversation.public_id, message_frame(reply))
        ]
        if state is not None:
            events.append(ConversationUpdated(conversation.public_id, state))
        return decision, events

    async def _store(
        self,
        session: AsyncSession,
        conversation: Conversation,
        decision: Decision,
        seq: int,
        available: Availability | None,
    ) -> tuple[Message, bool]:
        """Store the bot's decision (a handoff with `conversation` in `session`; `available`,
        who can answer now, for a handoff): the reply, and whether the conversation moved
        to the queue."""
        missed = decision.kind is DecisionKind.DECLINE
        text = decision.text
        if decision.handoff and available is not None:
            text = handoff_text(decision.text, decision.lang, available)
        reply = await transcript.append(
            session,
            conversation,
            state=conversation.state,
            sets={
                "lang": decision.lang,
                "consecutive_misses": transcript.ONE_MORE_MISS if missed else 0,
            },
            **_reply_fields(replace(decision, text=text), seq),
        )
        if (
            decision.handoff_reason is not None
            and available is not None  # asked for every decision that hands off
            and conversation.state == ConversationState.BOT
        ):
            await escalate(
                session,
                conversation,
                decision.handoff_reason,
                decision.scores,
                reply.seq,
                available,
            )
            return reply, True
        return reply, False


def _reply_fields(decision: Decision, seq: int) -> dict[str, Any]:
    """The stored message of the bot's `decision` on the customer's message `seq`."""
    return {
        "role": "bot",
        "kind": decision.kind.value,
        "text": decision.text,
        "lang": decision.lang,
        "citations": [vars(c) for c in decision.citations],
        "confidence": decision.confidence,
        "meta": {"scores": jsonable(decision.scores), "reply_to": seq},
    }


def _answer_choice(
    bot: Bot, article_id: str, lang: str, text: str, history: list[Turn]
) -> Decision:
    """The answer from the article the customer chose, to the question asked before."""
    question = next(
        (t.text for t in reversed(history) if t.role == "customer" and t.kind != "choice"), ""
    )
    try:
        return bot.answer_from(article_id, question, lang)
    except KeyError:  # unpublished since it was offered: look it up by its title instead
        return bot.respond(text, history, lang)


# The reply's statements, built once (`conversations.transcript` says why).

#: the customer message `seq`, while it still waits for the bot's reply
_WAITING = (
    Message.conversation_id == bindparam("p_conversation"),
    Message.seq == bindparam("p_seq"),
    Message.reply_pending.is_(True),
)
_PENDING = (
    select(Message.kind, Message.meta, Conversation.lang, Conversation.channel)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(*_WAITING)
)
_CLAIM = update(Message).where(*_WAITING).values(reply_pending=False).returning(Message.id)


async def _claim(session: AsyncSession, conversation_id: int, seq: int) -> bool:
    """Clear message `seq`'s reply mark in the session's transaction (`_claimed`)."""
    return await session.run_sync(lambda orm: _claimed(orm.connection(), conversation_id, seq))


def _claimed(connection: Connection, conversation_id: int, seq: int) -> bool:
    """Clear message `seq`'s reply mark in one statement; False when it was cleared
    already (another server answered it)."""
    claimed = connection.execute(_CLAIM, {"p_conversation": conversation_id, "p_seq": seq})
    return claimed.first() is not None
