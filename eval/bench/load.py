"""Customers over real websockets (docs/protocol.md): questions one at a time, and an
open-loop load that sends messages at a fixed rate whatever the server's pace.

A question is timed from just before its `message` frame is sent to the bot's reply: the
first non-customer `message` stored after the customer's own (acknowledged) copy. When the
bot finishes without a message (a conversation already queued for a person, where the bot
keeps quiet unless it can answer), its `typing` off frame ends the question instead, and it
is counted as `silent`. Each customer has at most one question in flight, so replies are
never confused; a customer whose question timed out is not asked again (a late reply would
be taken for the next one).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from eval.metrics import percentile

REPLY = "reply"
SILENT = "silent"
ERROR = "error"
TIMEOUT = "timeout"


@dataclass
class Question:
    client_id: str
    sent: float
    acked_seq: int | None = None
    done: asyncio.Future[tuple[str, float]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def finish(self, outcome: str) -> None:
        if not self.done.done():
            self.done.set_result((outcome, time.perf_counter()))


class Customer:
    """One customer's websocket to one conversation."""

    def __init__(self, ws: ClientConnection, lang: str) -> None:
        self.ws = ws
        self.lang = lang
        self.asked = 0
        self.pending: Question | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, ws_base: str, lang: str, timeout: float = 60) -> Customer:
        """Open a conversation: `hello`, then wait for its `state` frame."""
        ws = await connect(
            f"{ws_base}/ws/chat", open_timeout=timeout, ping_interval=None, proxy=None
        )
        await ws.send(json.dumps({"type": "hello", "token": None, "last_seq": 0, "lang": lang}))
        async with asyncio.timeout(timeout):
            while True:
                event = json.loads(await ws.recv())
                if event.get("type") == "state":
                    break
                if event.get("type") == "error":
                    await ws.close()
                    raise ConnectionError(f"hello refused: {event}")
        return cls(ws, lang)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                self.on_event(json.loads(raw))
        if self.pending is not None:
            self.pending.finish(ERROR)  # the connection is gone

    def on_event(self, event: dict[str, Any]) -> None:
        question = self.pending
        if question is None:
            return
        kind = event.get("type")
        if kind == "message":
            if event.get("role") == "customer":
                if event.get("client_id") == question.client_id:
                    question.acked_seq = int(event["seq"])
            elif question.acked_seq is not None and int(event["seq"]) > question.acked_seq:
                question.finish(REPLY)
        elif kind == "typing" and event.get("role") == "bot" and event.get("typing") is False:
            if question.acked_seq is not None:
                question.finish(SILENT)
        elif kind == "error" and event.get("client_id") == question.client_id:
            question.finish(ERROR)

    async def ask(self, text: str) -> Question:
        if self.pending is not None:
            raise RuntimeError("this customer is still waiting for a reply")
        question = Question(uuid.uuid4().hex, time.perf_counter())
        self.pending = question
        self.asked += 1
        await self.ws.send(
            json.dumps({"type": "message", "client_id": question.client_id, "text": text})
        )
        return question

    def settled(self) -> bool:
        """Whether the customer may ask again: nothing asked, or its reply has come (a
        late one too, after `answer` stopped waiting for it)."""
        if self.pending is not None and self.pending.done.done():
            self.pending = None
        return self.pending is None

    async def answer(self, question: Question, timeout: float) -> tuple[str, float]:
        """(outcome, milliseconds); a timeout counts `timeout` seconds."""
        try:
            outcome, at = await asyncio.wait_for(asyncio.shield(question.done), timeout)
        except TimeoutError:
            return TIMEOUT, timeout * 1000
        finally:
            if question.done.done():
                self.pending = None
        return outcome, (at - question.sent) * 1000

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


async def open_customers(
    ws_base: str, count: int, langs: Sequence[str] = ("en", "ja"), parallel: int = 20
) -> list[Customer]:
    """`count` open conversations, the languages in turn."""
    gate = asyncio.Semaphore(parallel)

    async def one(i: int) -> Customer:
        async with gate:
            for attempt in range(3):  # a refused or dropped handshake is tried again
                try:
                    return await Customer.connect(ws_base, langs[i % len(langs)])
                except (ConnectionClosed, OSError, TimeoutError):
                    if attempt == 2:
                        raise
                    await asyncio.sleep(1)
        raise AssertionError("unreachable")

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def close_customers(customers: Sequence[Customer]) -> None:
    await asyncio.gather(*(c.close() for c in customers))


def summarise(results: Sequence[tuple[str, float]]) -> dict[str, Any]:
    """Counts per outcome and the latency percentiles of the questions answered (timeouts
    count their full wait; errors are counted, not timed)."""
    latencies = [ms for outcome, ms in results if outcome != ERROR]
    counts = {k: sum(1 for o, _ in results if o == k) for k in (REPLY, SILENT, ERROR, TIMEOUT)}
    return {
        "n": len(results),
        **counts,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
    }


async def ask_in_turn(
    ws_base: str,
    questions: Sequence[tuple[str, str]],
    *,
    per_conversation: int = 3,
    timeout: float = 30,
    between: Callable[[str, str], Awaitable[None]] | None = None,
) -> list[tuple[str, str, float]]:
    """Each (lang, text) asked alone, waiting for its reply before the next; a new
    conversation every `per_conversation` questions of a language, as customers come and go.
    `between(lang, text)` runs after each reply, before the next question.
    Returns (lang, outcome, milliseconds) per question."""
    results: list[tuple[str, str, float]] = []
    customers: dict[str, Customer] = {}
    try:
        for lang, text in questions:
            customer = customers.get(lang)
            if customer is None or customer.asked >= per_conversation:
                if customer is not None:
                    await customer.close()
                customer = customers[lang] = await Customer.connect(ws_base, lang)
            outcome, ms = await customer.answer(await customer.ask(text), timeout)
            results.append((lang, outcome, ms))
            if outcome == TIMEOUT:
                await customer.close()
                del customers[lang]
            if between is not None:
                await between(lang, text)
    finally:
        await close_customers(list(customers.values()))
    return results


@dataclass
class RateRun:
    """What an open-loop run at one rate saw."""

    rate: float
    seconds: float
    results: list[tuple[str, float]] = field(default_factory=list)
    sent: int = 0
    no_idle_customer: int = 0  # sends skipped: every customer was waiting for a reply
    lost_connections: int = 0  # customers whose connection was gone when asked
    lag_ms: list[float] = field(default_factory=list)  # how late the sender was

    def summary(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seconds": self.seconds,
            "sent": self.sent,
            "achieved_rate": round(self.sent / self.seconds, 1) if self.seconds else 0.0,
            "no_idle_customer": self.no_idle_customer,
            "lost_connections": self.lost_connections,
            "sender_lag_p95_ms": round(percentile(self.lag_ms, 95), 1),
            **summarise(self.results),
        }


async def run_rate(
    customers: list[Customer],
    texts: Mapping[str, Sequence[str]],
    rate: float,
    seconds: float,
    *,
    timeout: float = 10,
    renew_after: int | None = None,
    ws_base: str = "",
) -> RateRun:
    """Send `rate` messages a second for `seconds`, each to an idle customer, and wait for
    the replies (at most `timeout` after the last send).

    With `renew_after`, a customer who has asked that many questions leaves and a new one
    opens a conversation in its place (`customers` is updated), as on a live site.
    """
    run = RateRun(rate, seconds)
    idle: deque[Customer] = deque(customers)
    cycles = {lang: itertools.cycle(t) for lang, t in texts.items()}
    waiting: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async def wait_for(customer: Customer, question: Question) -> None:
        outcome, ms = await customer.answer(question, timeout)
        run.results.append((outcome, ms))
        if outcome in (TIMEOUT, ERROR):
            return  # not asked again: a late reply would be taken for the next question
        if renew_after is not None and customer.asked >= renew_after:
            try:
                fresh = await Customer.connect(ws_base, customer.lang)
            except (OSError, TimeoutError, ConnectionError):
                return
            await customer.close()
            customers[customers.index(customer)] = fresh
            customer = fresh
        idle.append(customer)

    start = loop.time()
    for i in itertools.count():
        due = start + i / rate
        if due - start >= seconds:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        run.lag_ms.append(max(0.0, loop.time() - due) * 1000)
        if not idle:
            run.no_idle_customer += 1
            continue
        customer = idle.popleft()
        try:
            question = await customer.ask(next(cycles[customer.lang]))
        except (ConnectionClosed, OSError):
            run.lost_connections += 1  # not asked again
            continue
        run.sent += 1
        task = asyncio.create_task(wait_for(customer, question))
        waiting.add(task)
        task.add_done_callback(waiting.discard)
    if waiting:
        await asyncio.gather(*waiting)
    return run
