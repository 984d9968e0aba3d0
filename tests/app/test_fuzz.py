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
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import WebSocketTestSession

from app.routes.agent import AGENT_TYPES
from app.routes.chat import CLIENT_TYPES
from tests.app import agents
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
LIMIT = 4000  # KAKEHASHI_MAX_MESSAGE_CHARS's default
FRAME_BYTES = 65_536  # KAKEHASHI_WS_MAX_FRAME_BYTES's default
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


# ---------------------------------------------------------------------- frames
def frame(event: Any) -> str:
    """JSON text as a careless client writes it (floats past JSON's range as Infinity)."""
    return json.dumps(event)


def not_an_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return True


NOT_TEXT_CHARS = ["\x00", "\ud800", "\udbff", "\udfff"]  # NUL and lone surrogates
odd_text = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from([*NOT_TEXT_CHARS, "\ufeff", "\u202e", "日", "\\", '"', "\n"]),
    ),
    max_size=40,
)
dirty_text = st.builds(
    lambda a, bad, b: a + bad + b, odd_text, st.sampled_from(NOT_TEXT_CHARS), odd_text
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([-1, 2**31, 2**63, 10**40, -(2**63), 1e308, -0.0]),
    st.floats(),  # NaN and infinities too
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, odd_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)
    ),
    max_leaves=10,
)


def wrong(kind: type) -> st.SearchStrategy[Any]:
    """JSON values that are not of `kind` (nor, for numbers, a bool)."""
    if kind is int:
        return json_values.filter(lambda v: not isinstance(v, int) or isinstance(v, bool))
    return json_values.filter(lambda v: not isinstance(v, kind))


not_text = st.one_of(wrong(str), dirty_text)
out_of_range = st.integers().filter(lambda n: not 0 <= n < 2**31)  # seq, ids: 32-bit
huge_text = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["a", "é", "日", "\x00"]),
    st.integers(LIMIT + 1, 20_000),
)
deeply_nested = st.builds(
    lambda depth, kind: kind[0] * depth + kind[1] + kind[2] * depth,
    st.integers(500, 30_000),
    st.sampled_from([("[", "", "]"), ('{"a":', "1", "}"), ('{"type":', "1", "}")]),
)
not_json = st.one_of(
    st.text().filter(not_an_object),
    st.binary().filter(lambda b: not_an_object(b.decode("utf-8", "replace"))),
    json_values.filter(lambda v: not isinstance(v, dict)).map(frame),
    deeply_nested,
)


def unknown_type(types: tuple[str, ...]) -> st.SearchStrategy[str]:
    return (
        st.dictionaries(odd_text, json_values, max_size=3)
        .filter(lambda event: event.get("type") not in types)
        .map(frame)
    )


_MISSING = object()


def spoiled(
    kind: str,
    good: dict[str, Any],
    bad: dict[str, st.SearchStrategy[Any]],
    required: tuple[str, ...] = (),
) -> st.SearchStrategy[str]:
    """`kind` with `good` fields but one field of `bad` wrong, or one `required` missing."""

    def build(name: str, value: Any, extra: dict[str, Any]) -> str:
        event = {**extra, **good, "type": kind}
        if value is _MISSING:
            event.pop(name, None)
        else:
            event[name] = value
        return frame(event)

    extras = st.dictionaries(
        odd_text.filter(lambda k: k not in good and k not in bad and k != "type"),
        json_values,
        max_size=2,
    )
    choices = [st.tuples(st.just(n), s) for n, s in bad.items()]
    choices += [st.tuples(st.just(n), st.just(_MISSING)) for n in required]
    return st.tuples(st.one_of(choices), extras).map(lambda t: build(t[0][0], t[0][1], t[1]))


def chat_refused() -> st.SearchStrategy[str | bytes]:
    """Frames /ws/chat refuses with an error once a conversation is open, in any state."""
    return st.one_of(
        not_json,
        unknown_type(CLIENT_TYPES),
        spoiled(
            "message",
            {"client_id": "fuzz", "text": "hello"},
            {
                "client_id": st.one_of(not_text, st.sampled_from(["", " "]), st.text(min_size=65)),
                "text": st.one_of(not_text, st.sampled_from(["", " \n"]), huge_text),
            },
            required=("client_id", "text"),
        ),
        spoiled(
            "choose",
            {"client_id": "fuzz-choice", "article_id": "return-item"},
            {"client_id": not_text, "article_id": st.one_of(not_text, st.just(""))},
            required=("client_id", "article_id"),
        ),
        spoiled(
            "feedback",
            {"seq": 1, "helpful": True},
            {"seq": wrong(int), "helpful": wrong(bool)},
            required=("seq", "helpful"),
        ),
        spoiled("typing", {"typing": True}, {"typing": wrong(bool)}, required=("typing",)),
        spoiled(
            "contact",
            {"email": "a@example.com"},
            # an empty `message` is none at all
            {"email": not_text, "message": st.one_of(not_text, huge_text).filter(bool)},
            required=("email",),
        ),
        spoiled(
            "rate",
            {"score": 3},
            {"score": st.one_of(wrong(int), st.integers().filter(lambda s: not 1 <= s <= 5))},
            required=("score",),
        ),
        spoiled(
            "hello",
            {"token": None, "last_seq": 0},
            {
                "token": st.one_of(wrong(str).filter(lambda v: v is not None), dirty_text),
                # a missing, null, false or 0 last_seq is 0
                "last_seq": st.one_of(wrong(int).filter(bool), out_of_range),
            },
        ),
    )


CHAT_FIELDS = ["client_id", "text", "seq", "helpful", "typing", "email", "message", "score"]


def chat_any() -> st.SearchStrategy[str | bytes]:
    """Frames that may be valid, or not: any documented answer will do."""
    return st.one_of(
        chat_refused(),
        st.builds(
            lambda kind, fields: frame({**fields, "type": kind}),
            st.sampled_from([t for t in CLIENT_TYPES if t != "hello"]),
            st.dictionaries(st.sampled_from([*CHAT_FIELDS, "comment", "article_id"]), json_values),
        ),
    )


OUTCOMES = ("resolved", "not_resolved")


def agent_refused(cid: str) -> st.SearchStrategy[str | bytes]:
    """Frames /ws/agent refuses with an error, `cid` being a conversation the agent has (a
    field is checked before the conversation is looked up: a real one makes sure)."""
    return st.one_of(
        not_json,
        unknown_type(AGENT_TYPES),
        spoiled(
            "presence",
            {"status": "online"},
            {"status": st.one_of(not_text, odd_text.filter(lambda s: s not in ("online", "away")))},
            required=("status",),
        ),
        st.sampled_from(AGENT_TYPES[:-1]).flatmap(
            lambda kind: spoiled(
                kind, {"conversation_id": cid}, {"conversation_id": not_text}, ("conversation_id",)
            )
        ),
        spoiled(
            "open",
            {"conversation_id": cid},
            {
                "last_seq": st.one_of(
                    wrong(int).filter(lambda v: v is not None),
                    out_of_range,
                )
            },
        ),
        spoiled(
            "message",
            {"conversation_id": cid, "client_id": "fuzz", "text": "Hello"},
            {"client_id": not_text, "text": st.one_of(not_text, st.just(" "))},
            required=("client_id", "text"),
        ),
        spoiled(
            "note",
            {"conversation_id": cid, "text": "a note"},
            {"text": st.one_of(not_text, st.just(""))},
            required=("text",),
        ),
        spoiled(
            "typing",
            {"conversation_id": cid, "typing": True},
            {"typing": wrong(bool)},
            required=("typing",),
        ),
        spoiled(
            "transfer",
            {"conversation_id": cid, "to_user_id": 1},
            {"to_user_id": st.one_of(wrong(int), out_of_range)},
            required=("to_user_id",),
        ),
        spoiled(
            "close",
            {"conversation_id": cid, "outcome": "resolved", "tags": []},
            {
                "outcome": st.one_of(not_text, odd_text.filter(lambda s: s not in OUTCOMES)),
                "tags": st.one_of(
                    wrong(list).filter(bool), st.lists(wrong(str), min_size=1, max_size=3)
                ),
            },
            required=("outcome",),
        ),
    )


AGENT_FIELDS = ["client_id", "text", "typing", "to_user_id", "outcome", "tags", "last_seq"]


def agent_any(cid: str) -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        agent_refused(cid),
        st.builds(
            lambda kind, pid, fields: frame({**fields, "type": kind, "conversation_id": pid}),
            st.sampled_from(AGENT_TYPES),
            st.sampled_from([cid, "nobody"]),
            st.dictionaries(st.sampled_from(AGENT_FIELDS), json_values),
        ),
    )


def junk(
    refused: st.SearchStrategy[str | bytes], anything: st.SearchStrategy[str | bytes]
) -> st.SearchStrategy[tuple[str | bytes, bool]]:
    """(frame, whether it must be refused)."""
    return st.one_of(refused.map(lambda f: (f, True)), anything.map(lambda f: (f, False)))


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
