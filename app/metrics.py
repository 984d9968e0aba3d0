"""Prometheus metrics: counted from the domain's events, the sockets and the queue.

The domain never calls these: `Metrics.on_event` listens on the `EventBus` (registered in
`app/wiring.py`) and counts what each committed action emitted; the websocket routes count
their open sockets and refused events; the queue's length and oldest wait are read from the
database when Prometheus scrapes `/metrics`. Each app has its own registry.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.events import ConversationUpdated, DomainEvent, ReplyTimed
from storage.engine import WriterTurns
from storage.models import Conversation

BOT_KINDS = ("answer", "suggestions", "decline", "smalltalk", "handoff")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
#: a reply's steps take from a fraction of a millisecond (under a second in all)
STEP_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0065, 0.008,
    0.01, 0.0125, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
V = TypeVar("V")
_REMEMBERED = 10_000  # conversations whose last state / unanswered message is remembered


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "kakehashi_messages", "Messages stored, by author role", ["role"], registry=r
        )
        self.bot_decisions = Counter(
            "kakehashi_bot_decisions", "The bot's replies, by decision", ["kind"], registry=r
        )
        self.handoffs = Counter(
            "kakehashi_handoffs",
            "Conversations queued for a person, by reason",
            ["reason"],
            registry=r,
        )
        self.reply_latency = Histogram(
            "kakehashi_reply_latency_seconds",
            "From a customer's message to the bot's reply (as this server saw them)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reply_steps = Histogram(
            "kakehashi_reply_step_seconds",
            "Each step of a bot reply, from the customer's message arriving to the reply "
            "sent (conversations.timing.STEPS; the steps of one reply add up to its time)",
            ["step"],
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.reply_models = Histogram(
            "kakehashi_reply_models_seconds",
            "From a customer's message arriving until the models' vectors of it were ready "
            "(they run beside the reply's first steps)",
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.queue_length = Gauge(
            "kakehashi_queue_waiting", "Conversations waiting for a person", registry=r
        )
        self.queue_oldest = Gauge(
            "kakehashi_queue_oldest_wait_seconds",
            "How long the longest-waiting conversation has waited",
            registry=r,
        )
        self.open_websockets = Gauge(
            "kakehashi_open_websockets", "Open websockets, by socket", ["socket"], registry=r
        )
        self.rate_limited = Counter(
            "kakehashi_rate_limited",
            "Events and connections refused by a limit, by limit",
            ["limit"],
            registry=r,
        )
        self._asked: OrderedDict[str, float] = OrderedDict()  # conversation -> first unanswered
        self._states: OrderedDict[str, str] = OrderedDict()  # conversation -> last state seen

    def watch_writers(self, writers: WriterTurns) -> None:
        """Serve the SQLite writers' line (`storage.engine.WriterTurns`) as counters."""
        self.registry.register(_WriterTurnsCollector(writers))

    async def on_event(self, event: DomainEvent) -> None:
        """Count what a committed action emitted (an EventBus listener)."""
        if isinstance(event, ReplyTimed):
            for step, seconds in event.steps:
                self.reply_steps.labels(step).observe(seconds)
            if event.models is not None:
                self.reply_models.observe(event.models)
            return
        if not isinstance(event, ConversationUpdated):
            return
        frame, pid = event.frame, event.conversation_id
        if frame["type"] == "message":
            role = frame["role"]
            self.messages.labels(role).inc()
            if role == "customer":
                self._remember(self._asked, pid, self._asked.get(pid, time.monotonic()))
            elif role == "bot":
                kind = frame["kind"]
                self.bot_decisions.labels(kind if kind in BOT_KINDS else "other").inc()
                asked = self._asked.pop(pid, None)
                if asked is not None:
                    self.reply_latency.observe(time.monotonic() - asked)
            elif role == "agent":
                self._asked.pop(pid, None)
        elif frame["type"] == "state":
            state = frame.get("state")
            if state is None:
                return
            previous = self._states.get(pid)
            if state == "waiting" and previous != "waiting":
                self.handoffs.labels(frame.get("reason") or "unknown").inc()
            if state == "waiting":
                self._asked.pop(pid, None)  # the bot stays silent now
            self._remember(self._states, pid, state)

    @staticmethod
    def _remember(memory: OrderedDict[str, V], key: str, value: V) -> None:
        memory[key] = value
        memory.move_to_end(key)
        while len(memory) > _REMEMBERED:
            memory.popitem(last=False)

    async def render(self, sessions: async_sessionmaker[AsyncSession]) -> bytes:
        """The text exposition, with the queue read now."""
        async with sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(Conversation.escalated_at)).where(
                        Conversation.state == "waiting"
                    )
                )
            ).one()
        self.queue_length.set(count or 0)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        wait = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        self.queue_oldest.set(max(0.0, wait))
        return generate_latest(self.registry)


class _WriterTurnsCollector(Collector):
    """How many SQLite write transactions took their turn, how long they waited in line and
    how long they held it (rate(hold) near 1: the writer is the server's limit)."""

    def __init__(self, writers: WriterTurns) -> None:
        self.writers = writers

    def collect(self) -> Iterator[CounterMetricFamily]:
        w = self.writers
        yield CounterMetricFamily(
            "kakehashi_sqlite_write_turns", "SQLite write transactions", value=w.turns
        )
        yield CounterMetricFamily(
            "kakehashi_sqlite_write_wait_seconds",
            "Time SQLite write transactions waited for the writer's turn",
            value=w.waited_seconds,
        )
        yield CounterMetricFamily(
            "kakehashi_sqlite_write_hold_seconds",
            "Time SQLite write transactions held the writer's turn",
            value=w.held_seconds,
        )
