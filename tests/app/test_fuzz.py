"""Both websockets fuzzed: hypothesis sends /ws/chat (before and after `hello`) and /ws/agent
frames of every wrong kind. Each one gets an error whose code the protocol documents, or a
close code it documents; never `internal`, never silence, never a dropped connection; the
connection still works afterwards, nothing accepted before is lost, and the server logs no
traceback.

The codes are read from docs/protocol.md and docs/agent-protocol.md, so a new refusal must
be documented there before this passes.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from starlette.testclient import WebSocketTestSession

from tests.app import agents
from tests.app._fuzz_frames import (
    FRAME_BYTES,
    agent_any,
    agent_refused,
    chat_any,
    chat_refused,
    junk,
)
from tests.app.agents import (
    ALWAYS_OPEN,
    Event,
    agent_socket,
    claimed_by,
    escalate,
    event_or_close,
    events_until,
    is_type,
    new_agent,
    send,
)
from tests.app.conftest import MakeClient, open_chat, settle
from tests.conftest import ROOT

seeded_data = agents.seeded_data
make_client = agents.make_client

# FUZZ_EXAMPLES=1000 FUZZ_RANDOM=1 hunts further than the repeatable default
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # examples depend on the server's state so far: replaying them misleads
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)
# The limits have tests of their own (test_limits.py): here they would only say rate_limited
ROOMY = {
    "chat_messages_per_token": "100000/minute",
    "chat_messages_per_ip": "100000/minute",
    "chat_frames_per_connection": "100000/minute",
    "business_hours": ALWAYS_OPEN,
}


def documented(doc: str, heading: str) -> set[str]:
    """The codes in the first column of the table after `heading` in a protocol document."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    table = re.search(r"^\|.*?(?=^[^|]|\Z)", section, re.S | re.M)
    assert table is not None, f"docs/{doc}: no table after {heading!r}"
    return set(re.findall(r"^\| `?([a-z_]+|\d{4})`?[ |]", table[0], re.M)) - {"code"}


CHAT_ERRORS = documented("protocol.md", "`error` — ") - {"internal"}
CHAT_CLOSES = {int(c) for c in documented("protocol.md", "Close codes the server uses")}
AGENT_ERRORS = documented("agent-protocol.md", "## Errors") - {"internal"}
AGENT_CLOSES = {  # named in a sentence
    int(c)
    for c in re.findall(
        r"\b(1\d{3}) ",
        (ROOT / "docs" / "agent-protocol.md").read_text().split("Close codes:")[1][:400],
    )
}


# ---------------------------------------------------------------------- the sockets
@dataclass
class Answer:
    events: list[Event]
    closed: int | None  # the code, when the server closed the socket

    def errors(self) -> list[Event]:
        return [e for e in self.events if e["type"] == "error"]


def answer_until(
    ws: WebSocketTestSession, done: Callable[[Event], bool], timeout: float = 10.0
) -> Answer:
    """Events up to one that is `done`, or up to the server closing the socket; a failure
    when nothing comes (a hang) or the connection ends without a close frame."""
    events: list[Event] = []
    while True:
        got = event_or_close(ws, timeout)
        if isinstance(got, int):
            return Answer(events, got)
        events.append(got)
        if done(got):
            return Answer(events, None)


def send_frame(ws: WebSocketTestSession, sent: str | bytes) -> None:
    if isinstance(sent, bytes):
        ws.send_bytes(sent)
    else:
        ws.send_text(sent)


def size(sent: str | bytes) -> int:
    return len(sent if isinstance(sent, bytes) else sent.encode("utf-8", "surrogatepass"))


ANSWERS: Counter[str] = Counter()  # what the junk got, for the figures (-s shows them)


def tally(outcome: str) -> None:
    event(outcome)
    ANSWERS[outcome] += 1


def documented_only(answer: Answer, codes: set[str], shown: str | bytes) -> None:
    odd = [e for e in answer.errors() if e["code"] not in codes]
    assert not odd, f"undocumented error for {shown!r}: {odd}"


def check(
    answer: Answer, sent: str | bytes, must_refuse: bool, codes: set[str], closes: set[int]
) -> None:
    """The frame's answer (up to the probe's): documented, and an error when it must be
    refused."""
    shown = sent[:200]
    errors = [e["code"] for e in answer.errors()[:-1]]  # the last answers the probe
    tally(f"closed {answer.closed}" if answer.closed else (errors[0] if errors else "no error"))
    documented_only(answer, codes, shown)
    if answer.closed is not None:
        assert answer.closed in closes and answer.closed != 1011, (shown, answer)
        assert answer.closed != 1009 or size(sent) > FRAME_BYTES, (shown, answer)
    elif must_refuse:
        # the last error answers the probe: one before it answers the frame
        assert len(answer.errors()) >= 2, f"no error for {shown!r}: {answer.events}"


class Reconnecting:
    """A connection opened again after the server closed it; closed for good on exit."""

    def __init__(self, opener: Callable[[], AbstractContextManager[WebSocketTestSession]]):
        self.opener = opener
        self.stack = ExitStack()
        self.ws = self.reopen()

    def reopen(self) -> WebSocketTestSession:
        self.stack.close()
        self.stack = ExitStack()
        self.ws = self.stack.enter_context(self.opener())
        return self.ws

    def __enter__(self) -> Reconnecting:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()


class Customer(Reconnecting):
    """A customer's connection, resuming its conversation when opened again."""

    def __init__(self, client: TestClient) -> None:
        self.token: str | None = None
        self.probes = 0
        super().__init__(lambda: client.websocket_connect("/ws/chat"))

    def reopen(self) -> WebSocketTestSession:
        ws = super().reopen()
        welcome, _ = open_chat(ws, token=self.token)
        self.token = welcome["token"]
        return ws

    def probe(self) -> Answer:
        """A frame that is refused, marked so that its answer is known."""
        self.probes += 1
        mark = f"probe-{self.probes}"
        self.ws.send_json({"type": "feedback", "seq": "x", "helpful": True, "client_id": mark})
        answer = answer_until(self.ws, lambda e: e.get("client_id") == mark)
        if answer.closed is None:
            assert answer.events[-1]["code"] == "invalid_field", answer.events
        return answer

    def still_typing(self) -> None:
        """A valid `typing` still works: the server echoes it (for agents)."""
        self.ws.send_json({"type": "typing", "typing": True})
        documented_only(answer_until(self.ws, is_type("typing", role="customer")), CHAT_ERRORS, "")


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    print(f"fuzzed: {ANSWERS.total()} frames, answered {dict(ANSWERS.most_common())}")
    ANSWERS.clear()
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not logged, "\n".join(caplog.text.splitlines()[-40:])


def replayed(client: TestClient, token: str) -> list[Event]:
    with client.websocket_connect("/ws/chat") as ws:
        _, events = open_chat(ws, token=token)
    return [e for e in events if e["type"] == "message"]


# ---------------------------------------------------------------------- the tests
def test_chat_answers_every_frame_after_hello(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(**ROOMY)
    customer = Customer(client)
    with customer:
        customer.ws.send_json({"type": "message", "client_id": "kept", "text": "Where is it?"})
        kept = events_until(customer.ws, lambda e: e.get("client_id") == "kept")[-1]
        settle(client)
        with caplog.at_level(logging.WARNING):
            fuzz_chat(customer)
            settle(client)
    assert customer.token is not None
    replay = replayed(client, customer.token)
    assert (kept["seq"], "kept") in [(m["seq"], m["client_id"]) for m in replay]
    no_tracebacks(caplog)


def fuzz_chat(customer: Customer) -> None:
    @settings(FUZZ, max_examples=EXAMPLES)
    @given(junk(chat_refused(), chat_any()))
    def fuzz(sent_refused: tuple[str | bytes, bool]) -> None:
        sent, must_refuse = sent_refused
        send_frame(customer.ws, sent)
        answer = customer.probe()
        check(answer, sent, must_refuse, CHAT_ERRORS, CHAT_CLOSES)
        if answer.closed is not None:
            customer.reopen()
        customer.still_typing()

    fuzz()


def test_chat_answers_every_frame_before_hello(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(**ROOMY)

    @settings(FUZZ, max_examples=EXAMPLES // 2)
    @given(junk(chat_refused(), chat_any()))
    def fuzz(sent_refused: tuple[str | bytes, bool]) -> None:
        sent, _ = sent_refused
        with client.websocket_connect("/ws/chat") as ws:
            send_frame(ws, sent)
            answer = answer_until(ws, lambda e: e["type"] in ("error", "welcome"))
            if answer.closed is not None:
                check(answer, sent, True, CHAT_ERRORS, CHAT_CLOSES)
                return
            last = answer.events[-1]
            tally(str(last.get("code", last["type"])))
            if last["type"] == "error":  # anything but a good hello
                assert last["code"] in CHAT_ERRORS, (sent[:200], last)
                open_chat(ws)  # the connection still works
            else:
                assert json.loads(sent)["type"] == "hello", (sent[:200], last)

    with caplog.at_level(logging.WARNING):
        fuzz()
        settle(client)
    no_tracebacks(caplog)


def test_agent_socket_answers_every_frame(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(**ROOMY)
    _, headers = new_agent(client, "aiko", "Aiko")
    with (
        Reconnecting(lambda: agent_socket(client, headers)) as agent,
        client.websocket_connect("/ws/chat") as customer,
    ):
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        escalate(customer)
        claimed_by(agent.ws, cid)
        send(agent.ws, "message", cid, client_id="kept", text="I am looking into it.")
        kept = events_until(agent.ws, lambda e: e.get("client_id") == "kept")[-1]
        with caplog.at_level(logging.WARNING):
            fuzz_agent(agent, cid)
            settle(client)
        send(agent.ws, "open", cid)
        context = events_until(agent.ws, is_type("conversation", conversation_id=cid))[-1]
    assert kept["seq"] in [m["seq"] for m in context["messages"]]
    assert kept["seq"] in [m["seq"] for m in replayed(client, welcome["token"])]
    no_tracebacks(caplog)


def fuzz_agent(agent: Reconnecting, cid: str) -> None:
    probes = iter(range(1_000_000))

    @settings(FUZZ, max_examples=EXAMPLES)
    @given(junk(agent_refused(cid), agent_any(cid)))
    def fuzz(sent_refused: tuple[str | bytes, bool]) -> None:
        sent, must_refuse = sent_refused
        send_frame(agent.ws, sent)
        mark = f"probe-{next(probes)}"
        send(agent.ws, "open", mark)
        answer = answer_until(agent.ws, lambda e: e.get("conversation_id") == mark)
        check(answer, sent, must_refuse, AGENT_ERRORS, AGENT_CLOSES)
        if answer.closed is not None:
            agent.reopen()
            return
        assert answer.events[-1]["code"] == "unknown_conversation", answer.events
        # a valid event still works
        send(agent.ws, "presence", status="online")
        documented_only(answer_until(agent.ws, is_type("queue")), AGENT_ERRORS, "presence")

    fuzz()
