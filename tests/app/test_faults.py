"""Faults and abuse against real servers (the cluster of tests/app/_cluster.py: two
`kakehashi serve` processes on PostgreSQL and Redis): the database unreachable for a few
seconds, and one client flooding while other customers chat. The figures are printed
(`pytest -s`) and kept in docs/reliability.md; no assertion here is about time."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests._postgres import PostgresServer
from tests.app._cluster import (
    Cluster,
    Event,
    cluster,
    customer,
    is_message,
    receive_until,
    seeded_index,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.model]
__all__ = ["cluster", "seeded_index"]  # the fixtures

QUESTIONS = [
    "How do I return an item?",
    "When will I get my refund?",
    "How long does delivery take?",
    "Can I change my delivery address?",
    "How do I track my parcel?",
    "Do you ship to Okinawa?",
]


def ready(base: str) -> int:
    try:
        return httpx.get(f"{base}/readyz", timeout=5).status_code
    except httpx.TransportError:
        return 0


@contextmanager
def database_down(postgres: PostgresServer) -> Iterator[None]:
    postgres.pause()
    try:
        yield
    finally:
        postgres.resume()


def test_the_database_unreachable_for_a_few_seconds_is_survived_without_a_restart(
    cluster: Cluster, postgres: PostgresServer
) -> None:
    server = cluster.a
    assert server.process is not None
    pid = server.process.pid
    with ExitStack() as stack:
        chat, welcome = customer(stack, server)
        chat.send(json.dumps({"type": "message", "client_id": "c1", "text": QUESTIONS[0]}))
        receive_until(chat, is_message("bot"))

        with database_down(postgres):
            assert ready(server.base) == 503, "/readyz must say the database is gone"
            chat.send(json.dumps({"type": "message", "client_id": "c2", "text": QUESTIONS[1]}))
            refused = receive_until(chat, lambda e: e["type"] in ("error", "message"))[-1]
            assert refused["type"] == "error", f"stored while the database was down? {refused}"
            assert refused["client_id"] == "c2" and refused["code"] == "unavailable"
            assert refused["retry_after"] >= 1
            time.sleep(3)

        # the client sends it again, as the widget does after retry_after; the same socket
        deadline = time.monotonic() + 30
        while True:
            chat.send(json.dumps({"type": "message", "client_id": "c2", "text": QUESTIONS[1]}))
            event = receive_until(
                chat, lambda e: e["type"] == "error" or is_message("customer")(e)
            )[-1]
            if event["type"] == "message":
                break
            assert time.monotonic() < deadline, (
                f"still refused after the database came back: {event}"
            )
            time.sleep(1)
        answer = receive_until(chat, is_message("bot"))[-1]
        assert answer["citations"], answer
        assert ready(server.base) == 200
        # a new customer starts a conversation as if nothing had happened
        other, _ = customer(stack, server)
        other.send(json.dumps({"type": "message", "client_id": "o1", "text": QUESTIONS[2]}))
        receive_until(other, is_message("bot"))
    assert server.process.pid == pid and server.process.poll() is None, "it was restarted"


@dataclass
class Flooder:
    """A script from one address: it opens a chat and sends as fast as it can without
    waiting for retry_after; closed, it connects again, until told to stop."""

    server_ws: str
    address: str = "127.0.0.9"
    sent: int = 0
    accepted: int = 0
    refused: list[Event] = field(default_factory=list)
    closes: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with connect(
                    f"{self.server_ws}/ws/chat",
                    open_timeout=10,
                    source_address=(self.address, 0),
                    ping_interval=None,
                ) as ws:
                    ws.send(json.dumps({"type": "hello"}))
                    reader = threading.Thread(target=self._read, args=(ws,))
                    reader.start()
                    try:
                        while not self.stop.is_set():
                            ws.send(
                                json.dumps(
                                    {"type": "message", "client_id": f"f{self.sent}", "text": "buy"}
                                )
                            )
                            self.sent += 1
                            time.sleep(0.002)
                    finally:
                        reader.join(timeout=10)
            except ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else 1006)
                time.sleep(0.05)

    def _read(self, ws: ClientConnection) -> None:
        try:
            while not self.stop.is_set():
                try:
                    event = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if event["type"] == "error":
                    self.refused.append(event)
                elif is_message("customer")(event):
                    self.accepted += 1
        except ConnectionClosed:
            pass


def ask_all(server_ws: str, address: str, questions: list[str], times: list[float]) -> None:
    """A customer from `address` asking each question in turn, timing each reply."""
    with connect(f"{server_ws}/ws/chat", open_timeout=10, source_address=(address, 0)) as ws:
        ws.send(json.dumps({"type": "hello", "lang": "en"}))
        receive_until(ws, lambda e: e["type"] == "welcome")
        for n, text in enumerate(questions):
            sent = time.monotonic()
            ws.send(json.dumps({"type": "message", "client_id": f"q{n}", "text": text}))
            events = receive_until(ws, lambda e: e["type"] == "error" or is_message("bot")(e))
            assert events[-1]["type"] != "error", f"a quiet customer was refused: {events[-1]}"
            times.append((time.monotonic() - sent) * 1000)


def customers_p95(server_ws: str, first_address: int) -> tuple[float, int]:
    """Four customers at once, each from its own address: their replies' p95 (ms), count."""
    times: list[float] = []
    threads = [
        threading.Thread(
            target=ask_all, args=(server_ws, f"127.0.0.{first_address + n}", QUESTIONS, times)
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(times) == 4 * len(QUESTIONS), "some customer was not answered"
    return statistics.quantiles(times, n=20)[-1], len(times)


def test_a_flood_from_one_client_leaves_other_customers_answered(cluster: Cluster) -> None:
    server = cluster.a
    customers_p95(server.ws, 20)  # warm: the model, the caches, the database's pages
    quiet, replies = customers_p95(server.ws, 30)

    flood = Flooder(server.ws)
    flooder = threading.Thread(target=flood.run)
    flooder.start()
    refused_sockets = 0
    try:
        with ExitStack() as held:
            for _ in range(40):  # and more sockets than one address may hold
                try:
                    ws = held.enter_context(
                        connect(
                            f"{server.ws}/ws/chat", open_timeout=5, source_address=("127.0.0.9", 0)
                        )
                    )
                    ws.send(json.dumps({"type": "hello"}))
                    ws.recv(timeout=5)
                except ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 1013, closed
                    refused_sockets += 1
            flooded, _ = customers_p95(server.ws, 40)
    finally:
        flood.stop.set()
        flooder.join(timeout=30)

    print(
        f"\nflood: {flood.sent} messages sent, {flood.accepted} accepted, "
        f"{len(flood.refused)} refused as rate_limited, "
        f"{flood.closes.count(1008)} times closed for ignoring the limit, "
        f"{refused_sockets} of 40 extra sockets refused (1013)\n"
        f"other customers: {replies} replies each phase; p95 quiet {quiet:.0f} ms, "
        f"during the flood {flooded:.0f} ms ({flooded / quiet:.2f}x)"
    )
    assert flood.refused, "the flood was never limited"
    limited = [e for e in flood.refused if e["code"] == "rate_limited"]
    assert limited and all(e["retry_after"] >= 1 for e in limited)
    # a refused hello leaves its socket without a conversation: what follows is refused too
    assert {e["code"] for e in flood.refused} <= {"rate_limited", "hello_required"}
    assert flood.accepted < flood.sent / 2
    assert 1008 in flood.closes, "a script ignoring retry_after is closed"
    assert refused_sockets >= 10  # 30 per address by default
