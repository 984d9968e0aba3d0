"""The agent side: the /ws/agent console protocol against a customer on /ws/chat.

Every test drives both websockets through one TestClient (one app, one event loop) and a
real SQLite database; the agents are real accounts signed in through the /login form.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import WebSocketTestSession

from app.agents import AgentService
from app.auth import Role, create_user
from app.conversations import ChatError
from app.main import create_app
from app.settings import Settings
from bot import messages
from storage.models import Conversation
from tests.app.conftest import (
    MakeClient,
    ask,
    on_both_databases,
    on_postgres,
    open_chat,
    services,
    settle,
)
from tests.conftest import SAMPLE_KB, CountingEmbedding

PASSWORD = "correct horse battery"
ALWAYS_OPEN = "mon-sun 00:00-23:59"
Event = dict[str, Any]


# ---------------------------------------------------------------------- apps
@pytest.fixture(scope="session")
def seeded_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose database already holds the sample knowledge base (and its index).

    The first start of an app imports every article into its database, which takes most of
    a second; each test starts from its own copy of this folder instead.
    """
    data = tmp_path_factory.mktemp("seeded") / "data"
    settings = Settings(  # as tests.app.conftest.make_settings builds them
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data,
        kb_dir=SAMPLE_KB,
        embedding_languages=[],
    )
    with TestClient(create_app(settings, embeddings=CountingEmbedding(size=16))):
        pass
    return data


@pytest.fixture
def make_client(make_client: MakeClient, seeded_data: Path, tmp_path: Path) -> MakeClient:
    """tests.app.conftest.make_client, started from a copy of `seeded_data`."""

    def make(**overrides: Any) -> TestClient:
        data = tmp_path / f"data-{len(list(tmp_path.glob('data-*')))}"
        shutil.copytree(seeded_data, data)
        return make_client(data_dir=data, **overrides)

    return make


# ---------------------------------------------------------------------- accounts
def add_user(
    client: TestClient,
    username: str,
    role: Role = Role.AGENT,
    display_name: str | None = None,
    max_open_chats: int = 3,
) -> int:
    """Create an account through the service; returns its id."""

    async def create() -> int:
        async with services(client).sessions.begin() as session:
            user = await create_user(
                session, username, PASSWORD, role, display_name, max_open_chats
            )
            return user.id

    assert client.portal is not None
    return client.portal.call(create)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the real form; returns headers carrying that session's cookie.

    The client's own cookie jar is emptied again, so several people can use one client.
    """
    client.cookies.clear()
    page = client.get("/login", follow_redirects=False)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None, "the login form has no CSRF token"
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": match[1], "next": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    secret = response.cookies["kakehashi_session"]
    client.cookies.clear()
    return {"cookie": f"kakehashi_session={secret}"}


def new_agent(
    client: TestClient, username: str, display_name: str, max_open_chats: int = 3
) -> tuple[int, dict[str, str]]:
    user_id = add_user(client, username, Role.AGENT, display_name, max_open_chats)
    return user_id, sign_in(client, username)


# ---------------------------------------------------------------------- websockets
def next_event(ws: WebSocketTestSession, timeout: float = 5.0) -> Event:
    """The next event, or a failure (never a hang) when none comes in time."""

    async def receive() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    try:
        message = ws.portal.call(receive)
    except TimeoutError:
        raise AssertionError(f"no event within {timeout} s") from None
    except (anyio.ClosedResourceError, anyio.EndOfStream):
        raise AssertionError("the server ended the connection") from None
    if message["type"] == "websocket.close":
        raise AssertionError(f"the server closed the socket with code {message.get('code')}")
    event: Event = json.loads(message["text"])
    return event


def events_until(
    ws: WebSocketTestSession, predicate: Callable[[Event], bool], timeout: float = 5.0
) -> list[Event]:
    """Events up to and including the first that matches; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching event within {timeout} s in {events}")
        try:
            event = next_event(ws, remaining)
        except AssertionError:
            raise AssertionError(f"no matching event within {timeout} s in {events}") from None
        events.append(event)
        if predicate(event):
            return events


def quiet(ws: WebSocketTestSession, seconds: float) -> list[Event]:
    """Everything that arrives within `seconds` (for checking what did NOT arrive)."""
    deadline = time.monotonic() + seconds
    events: list[Event] = []
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            events.append(next_event(ws, remaining))
        except AssertionError:
            break
    return events


def is_type(kind: str, **fields: Any) -> Callable[[Event], bool]:
    return lambda e: e["type"] == kind and all(e.get(k) == v for k, v in fields.items())


def queue_with(cid: str) -> Callable[[Event], bool]:
    return lambda e: e["type"] == "queue" and any(w["conversation_id"] == cid for w in e["waiting"])


@contextmanager
def agent_socket(client: TestClient, headers: dict[str, str]) -> Iterator[WebSocketTestSession]:
    """A signed-in console connection, past its `welcome` and first `queue`."""
    with client.websocket_connect("/ws/agent", headers=headers) as ws:
        welcome = next_event(ws)
        assert welcome["type"] == "welcome", welcome
        assert next_event(ws)["type"] == "queue"
        yield ws


def send(ws: WebSocketTestSession, kind: str, cid: str | None = None, **fields: Any) -> None:
    event: Event = {"type": kind, **fields}
    if cid is not None:
        event["conversation_id"] = cid
    ws.send_json(event)


def escalate(customer: WebSocketTestSession, text: str = "Can I talk to a human please?") -> Event:
    """The customer asks for a person; returns the `state` event that follows."""
    customer.send_json({"type": "message", "client_id": f"ask-{text[:20]}", "text": text})
    state = events_until(customer, is_type("state"))[-1]
    assert state["state"] == "waiting", state
    return state


def start_waiting(client: TestClient) -> str:
    """A fresh conversation queued for a person (through the service, no socket)."""

    async def make() -> str:
        conversations = services(client).conversations
        ref, _token = await conversations.start("en")
        await conversations.request_handoff(ref)
        return ref.public_id

    assert client.portal is not None
    return client.portal.call(make)


def stored(client: TestClient, cid: str) -> Conversation:
    async def load() -> Conversation:
        async with services(client).sessions() as session:
            conversation = await session.scalar(
                select(Conversation).where(Conversation.public_id == cid)
            )
            assert conversation is not None
            return conversation

    assert client.portal is not None
    return client.portal.call(load)


def texts(events: list[Event]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "message"]


# ---------------------------------------------------------------------- the whole story
@on_both_databases
def test_takeover_conversation_and_hand_back(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _aiko_id, aiko_headers = new_agent(client, "aiko", "Aiko")
    note_text = "Customer sounds like a repeat returner; check order 4411 history"
    with (
        agent_socket(client, aiko_headers) as agent,
        client.websocket_connect("/ws/chat") as customer,
    ):
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        refund = ask(customer, "How long does a refund take?", "c0")
        assert refund["kind"] == "answer"
        state = escalate(customer)
        assert state["reason"] == "customer_request" and state["queue_position"] == 1

        # the agent sees it in the queue, with why
        entry = next(
            w
            for w in events_until(agent, queue_with(cid))[-1]["waiting"]
            if w["conversation_id"] == cid
        )
        assert entry["reason"] == "customer_request"
        assert entry["preview"] == "Can I talk to a human please?"

        # ...and opens it: transcript, reason, summary, suggested articles
        send(agent, "open", cid)
        context = events_until(agent, is_type("conversation"))[-1]
        assert context["conversation_id"] == cid and context["state"] == "waiting"
        assert context["reason"] == "customer_request"
        assert texts(context["messages"])[:2] == [
            "How long does a refund take?",
            refund["text"],
        ]
        assert [m["seq"] for m in context["messages"]] == [1, 2, 3, 4]
        assert context["summary"][0] == "Customer wants: “How long does a refund take?”"
        assert any(line.startswith("Bot answered from: ") for line in context["summary"])
        assert "Handed off because the customer asked for a person" in context["summary"]
        assert context["suggestions"], "no suggested articles"
        assert context["suggestions"][0]["article_id"] == refund["citations"][0]["article_id"]

        # claim: the customer is told who joined
        send(agent, "claim", cid)
        assert events_until(agent, is_type("claimed"))[-1]["conversation_id"] == cid
        joined = events_until(customer, is_type("state", state="agent"))
        notice = next(e for e in joined if e["type"] == "message")
        assert notice["role"] == "system" and "Aiko" in notice["text"]
        assert joined[-1]["state"] == "agent" and joined[-1]["agent"] == "Aiko"

        # messages both ways, in order
        send(agent, "message", cid, client_id="a1", text="Hi, I'm Aiko. Which order is it?")
        customer_seen = events_until(customer, is_type("message", role="agent"))
        reply = customer_seen[-1]
        assert reply["text"] == "Hi, I'm Aiko. Which order is it?" and reply["author"] == "Aiko"
        customer.send_json({"type": "message", "client_id": "c2", "text": "Order 4411"})
        customer_seen += events_until(customer, is_type("message", client_id="c2"))
        agent_seen = events_until(agent, is_type("message", client_id="c2"))
        assert agent_seen[-1]["conversation_id"] == cid and agent_seen[-1]["role"] == "customer"
        send(agent, "message", cid, client_id="a2", text="Found it, one moment.")
        customer_seen += events_until(customer, is_type("message", client_id="a2"))
        agent_seen += events_until(agent, is_type("message", client_id="a2"))
        for seen in (customer_seen, agent_seen):
            seqs = [e["seq"] for e in seen if e["type"] == "message"]
            assert seqs == sorted(set(seqs)), f"seqs not strictly increasing: {seqs}"
        assert texts(agent_seen)[-2:] == ["Order 4411", "Found it, one moment."]
        assert texts(customer_seen)[-3:] == [
            "Hi, I'm Aiko. Which order is it?",
            "Order 4411",
            "Found it, one moment.",
        ]

        # typing both ways
        send(agent, "typing", cid, typing=True)
        assert events_until(customer, is_type("typing", role="agent"))[-1]["typing"] is True
        customer.send_json({"type": "typing", "typing": True})
        typing = events_until(agent, is_type("typing", role="customer"))[-1]
        assert typing == {
            "type": "typing",
            "role": "customer",
            "typing": True,
            "conversation_id": cid,
        }

        # an internal note reaches the agent and never the customer
        send(agent, "note", cid, text=note_text)
        note = events_until(agent, is_type("note"))[-1]
        assert note["text"] == note_text and note["author"] == "Aiko"
        assert note["conversation_id"] == cid
        send(agent, "message", cid, client_id="a3", text="Thanks for waiting.")
        live = events_until(customer, is_type("message", client_id="a3"))
        assert note_text not in repr(live)
        # ...and is in the context when the conversation is opened again, with its time zone
        send(agent, "open", cid)
        [kept] = events_until(agent, is_type("conversation"))[-1]["notes"]
        assert kept["text"] == note_text
        assert datetime.fromisoformat(kept["created_at"]).utcoffset() is not None

        # hand back: the customer is told, and the bot answers again
        send(agent, "hand_back", cid)
        back = events_until(customer, is_type("state", state="bot"))
        assert back[-1]["state"] == "bot" and back[-1]["agent"] is None
        assert messages.text("handed_back", "en") in texts(back)
        answer = ask(customer, "How do I return an item?", "c3")
        assert answer["kind"] == "answer"
        assert answer["citations"][0]["article_id"] == "return-item"
        settle(client)

    assert stored(client, cid).agent_id is None
    with client.websocket_connect("/ws/chat") as again:
        _, replay = open_chat(again, token=welcome["token"], last_seq=0)
    assert note_text not in repr(replay), "an internal note reached the customer"
    assert [e["seq"] for e in replay if e["type"] == "message"] == list(range(1, len(replay)))


def claimed_by(agent: WebSocketTestSession, cid: str) -> None:
    """`agent` claims `cid` and sees it won."""
    send(agent, "claim", cid)
    events_until(agent, is_type("claimed", conversation_id=cid))
    events_until(agent, is_type("conversation", conversation_id=cid))


class ClaimedChat(NamedTuple):
    client: TestClient
    agent_id: int
    headers: dict[str, str]
    agent: WebSocketTestSession
    customer: WebSocketTestSession
    cid: str


@contextmanager
def claimed_chat(make_client: MakeClient, claim: bool = True) -> Iterator[ClaimedChat]:
    """A customer waiting for a person, claimed by the agent Aiko; both sockets open."""
    client = make_client(business_hours=ALWAYS_OPEN)
    aiko_id, headers = new_agent(client, "aiko", "Aiko")
    with agent_socket(client, headers) as agent, client.websocket_connect("/ws/chat") as customer:
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        escalate(customer)
        if claim:
            claimed_by(agent, cid)
        yield ClaimedChat(client, aiko_id, headers, agent, customer, cid)


def mine_entry(cid: str, unread: int) -> Callable[[Event], bool]:
    """A queue event whose own-chats entry for `cid` shows `unread` unanswered messages."""
    return lambda e: (
        e["type"] == "queue"
        and any(m["conversation_id"] == cid and m["unread"] == unread for m in e["mine"])
    )


def test_own_chats_count_the_customers_unanswered_messages(make_client: MakeClient) -> None:
    with claimed_chat(make_client) as (_, _, _, agent, customer, cid):
        for n, text in enumerate(["Order 4411", "It was the blue teapot"], start=1):
            customer.send_json({"type": "message", "client_id": f"u{n}", "text": text})
            entry = next(
                m
                for m in events_until(agent, mine_entry(cid, n))[-1]["mine"]
                if m["conversation_id"] == cid
            )
            assert entry["preview"] == text
        # the agent answers: nothing is left unanswered
        send(agent, "message", cid, client_id="a1", text="Thanks, looking at it now.")
        events_until(agent, mine_entry(cid, 0))
        customer.send_json({"type": "message", "client_id": "u3", "text": "Thank you!"})
        events_until(agent, mine_entry(cid, 1))


def test_an_agent_who_hands_back_keeps_the_conversation_in_the_reports(
    make_client: MakeClient,
) -> None:
    with claimed_chat(make_client) as (client, aiko_id, headers, agent, customer, cid):
        send(agent, "message", cid, client_id="a1", text="Hi, I'm Aiko. All sorted?")
        events_until(customer, is_type("message", client_id="a1"))
        send(agent, "hand_back", cid)
        events_until(customer, is_type("state", state="bot"))
        body = client.get("/api/reports", headers=headers).json()
    [aiko] = body["agents"]
    assert (aiko["agent_id"], aiko["name"], aiko["conversations"]) == (aiko_id, "Aiko", 1)
    assert aiko["first_response_median"] is not None


# ---------------------------------------------------------------------- closing
@on_both_databases
def test_close_records_outcome_and_tags_and_refuses_further_messages(
    make_client: MakeClient,
) -> None:
    with claimed_chat(make_client) as (client, aiko_id, _, agent, customer, cid):
        send(agent, "close", cid, outcome="resolved", tags=["Refund", " shipping ", "refund", ""])
        closed = events_until(customer, is_type("state", state="closed"))
        assert messages.text("conversation_closed", "en") in texts(closed)

        customer.send_json({"type": "message", "client_id": "late", "text": "One more thing"})
        error = events_until(customer, is_type("error"))[-1]
        assert error["code"] == "conversation_closed" and error["client_id"] == "late"

        send(agent, "open", cid)
        context = events_until(agent, is_type("conversation"))[-1]
    assert context["state"] == "closed"
    assert context["outcome"] == "resolved" and context["tags"] == ["refund", "shipping"]
    assert "One more thing" not in texts(context["messages"])
    row = stored(client, cid)
    assert (row.state, row.agent_id, row.closed_at is not None) == ("closed", aiko_id, True)


def test_the_customer_rates_an_agent_closed_chat_and_the_agent_sees_it(
    make_client: MakeClient,
) -> None:
    with claimed_chat(make_client) as (client, _, headers, agent, customer, cid):
        send(agent, "close", cid, outcome="resolved", tags=[])
        closed = events_until(customer, is_type("state", state="closed"))[-1]
        assert closed["outcome"] == "resolved"
        assert closed["csat"]["rated"] is False and closed["csat"]["open"] is True

        customer.send_json({"type": "rate", "score": 5, "comment": "Aiko sorted it at once"})
        ack = events_until(customer, is_type("rated"))[-1]
        assert (ack["score"], ack["comment"]) == (5, "Aiko sorted it at once")
        live = events_until(agent, is_type("rated"))[-1]
        assert live["conversation_id"] == cid
        assert (live["score"], live["comment"]) == (5, "Aiko sorted it at once")
    # opened later, the conversation's details carry the rating
    with agent_socket(client, headers) as agent:
        send(agent, "open", cid)
        context = events_until(agent, is_type("conversation"))[-1]
    assert context["csat"]["score"] == 5 and context["csat"]["comment"] == "Aiko sorted it at once"
    assert context["csat"]["rated_at"]
    row = stored(client, cid)
    assert (row.csat_score, row.csat_comment, row.outcome) == (
        5,
        "Aiko sorted it at once",
        "resolved",
    )


def test_the_customer_ends_a_chat_an_agent_has_and_the_agent_is_told(
    make_client: MakeClient,
) -> None:
    with claimed_chat(make_client) as (client, aiko_id, _, agent, customer, cid):
        events_until(customer, is_type("state", state="agent"))

        customer.send_json({"type": "end"})
        closed = events_until(customer, is_type("state", state="closed"))
        assert messages.text("customer_ended", "en") in texts(closed)
        assert closed[-1]["outcome"] == "customer_ended" and closed[-1]["csat"]["rated"] is False

        # told twice: in the conversation (state) and as its owner (customer_ended), in
        # either order, since they travel on different channels
        seen = events_until(agent, is_type("customer_ended", conversation_id=cid))
        if not any(is_type("state", state="closed")(e) for e in seen):
            seen += events_until(agent, is_type("state", state="closed"))
        state = next(e for e in seen if is_type("state", state="closed")(e))
        assert state["outcome"] == "customer_ended"
        # it leaves the agent's chats, and cannot be closed a second time
        events_until(
            agent,
            lambda e: (
                e["type"] == "queue" and not any(m["conversation_id"] == cid for m in e["mine"])
            ),
        )
        send(agent, "close", cid, outcome="resolved", tags=[])
        assert events_until(agent, is_type("error"))[-1]["code"] == "illegal_transition"
    row = stored(client, cid)
    assert (row.state, row.outcome, row.agent_id) == ("closed", "customer_ended", aiko_id)
    assert row.closed_at is not None


def test_a_waiting_customer_who_ends_the_chat_leaves_the_queue(make_client: MakeClient) -> None:
    with claimed_chat(make_client, claim=False) as (client, _, _, agent, customer, cid):
        events_until(agent, queue_with(cid))
        customer.send_json({"type": "end"})
        events_until(customer, is_type("state", state="closed"))
        events_until(
            agent,
            lambda e: (
                e["type"] == "queue" and not any(w["conversation_id"] == cid for w in e["waiting"])
            ),
        )
        assert not [e for e in quiet(agent, 0.3) if e["type"] == "customer_ended"]
    assert stored(client, cid).outcome == "customer_ended"


# ---------------------------------------------------------------------- transfer
def test_transfer_moves_the_conversation_to_another_agent(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _aiko_id, aiko_headers = new_agent(client, "aiko", "Aiko")
    ben_id, ben_headers = new_agent(client, "ben", "Ben")
    with (
        agent_socket(client, aiko_headers) as aiko,
        agent_socket(client, ben_headers) as ben,
        client.websocket_connect("/ws/chat") as customer,
    ):
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        escalate(customer)
        claimed_by(aiko, cid)
        events_until(customer, is_type("state", state="agent"))

        send(aiko, "transfer", cid, to_user_id=ben_id)
        moved = events_until(customer, is_type("state", state="agent"))
        assert moved[-1]["agent"] == "Ben"
        assert "Ben from our team has joined the chat." in texts(moved)
        # Ben's console lists it among his chats
        events_until(
            ben,
            lambda e: e["type"] == "queue" and any(m["conversation_id"] == cid for m in e["mine"]),
        )

        # Ben answers now; Aiko no longer can
        send(ben, "message", cid, client_id="b1", text="Ben here, I'll take it from here.")
        assert events_until(customer, is_type("message", role="agent"))[-1]["author"] == "Ben"
        send(aiko, "message", cid, client_id="a1", text="Still me?")
        assert events_until(aiko, is_type("error"))[-1]["code"] == "not_owner"
    assert stored(client, cid).agent_id == ben_id


# ---------------------------------------------------------------------- claiming
def answer_to(cid: str) -> Callable[[Event], bool]:
    """The console's answer to a claim of `cid`: `claimed`, or an `error`."""
    return lambda e: e["type"] in ("claimed", "error") and e.get("conversation_id") == cid


def test_simultaneous_claims_from_two_consoles_have_exactly_one_winner(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    ids = {}
    ids["aiko"], aiko_headers = new_agent(client, "aiko", "Aiko", max_open_chats=50)
    ids["ben"], ben_headers = new_agent(client, "ben", "Ben", max_open_chats=50)
    with agent_socket(client, aiko_headers) as aiko, agent_socket(client, ben_headers) as ben:
        consoles = {"aiko": aiko, "ben": ben}
        for round_ in range(20):
            cid = start_waiting(client)
            order = ["aiko", "ben"] if round_ % 2 else ["ben", "aiko"]
            for name in order:  # both frames are in flight before either is answered
                send(consoles[name], "claim", cid)
            outcomes = {}
            for name, ws in consoles.items():
                answer = events_until(ws, answer_to(cid))[-1]
                outcomes[name] = answer["type"] if answer["type"] == "claimed" else answer["code"]
            assert sorted(outcomes.values()) == ["already_claimed", "claimed"], outcomes
            winner = next(name for name, outcome in outcomes.items() if outcome == "claimed")
            row = stored(client, cid)
            assert (row.state, row.agent_id) == ("agent", ids[winner]), f"round {round_}"


@on_both_databases
def test_simultaneous_claims_through_the_service_have_exactly_one_winner(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    aiko = add_user(client, "aiko", Role.AGENT, "Aiko", max_open_chats=50)
    ben = add_user(client, "ben", Role.AGENT, "Ben", max_open_chats=50)
    assert client.portal is not None
    for _ in range(25):
        cid = start_waiting(client)

        async def race(cid: str = cid) -> list[BaseException | None]:
            agents = services(client).agents
            return list(
                await asyncio.gather(
                    agents.claim(aiko, cid), agents.claim(ben, cid), return_exceptions=True
                )
            )

        results = client.portal.call(race)
        winners = [who for who, r in zip((aiko, ben), results, strict=True) if r is None]
        errors = [r for r in results if isinstance(r, ChatError)]
        assert len(winners) == 1 and [e.code for e in errors] == ["already_claimed"], results
        assert stored(client, cid).agent_id == winners[0]


@on_postgres
def test_many_agents_on_two_servers_claim_one_conversation_and_exactly_one_wins(
    make_client: MakeClient,
) -> None:
    # scale-out: two server processes on one database; no in-process lock orders their claims
    servers = [make_client(business_hours=ALWAYS_OPEN) for _ in range(2)]
    agents = [
        add_user(servers[0], f"agent{n}", Role.AGENT, f"Agent {n}", max_open_chats=50)
        for n in range(8)
    ]

    def claims(server: TestClient, user_ids: list[int], cid: str) -> list[BaseException | None]:
        async def race() -> list[BaseException | None]:
            agents = services(server).agents
            claiming = (agents.claim(user_id, cid) for user_id in user_ids)
            return list(await asyncio.gather(*claiming, return_exceptions=True))

        assert server.portal is not None
        return server.portal.call(race)

    for _ in range(5):
        cid = start_waiting(servers[0])
        with ThreadPoolExecutor(len(servers)) as pool:
            halves = [
                pool.submit(claims, server, agents[n :: len(servers)], cid)
                for n, server in enumerate(servers)
            ]
            results = [result for half in halves for result in half.result()]
        order = [user_id for n in range(len(servers)) for user_id in agents[n :: len(servers)]]
        winners = [who for who, r in zip(order, results, strict=True) if r is None]
        codes = sorted(r.code for r in results if isinstance(r, ChatError))
        assert len(winners) == 1 and codes == ["already_claimed"] * 7, results
        assert stored(servers[1], cid).agent_id == winners[0]


def test_an_agent_at_their_limit_cannot_claim_another(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko", max_open_chats=1)
    first, second = start_waiting(client), start_waiting(client)
    with agent_socket(client, headers) as agent:
        claimed_by(agent, first)
        send(agent, "claim", second)
        error = events_until(agent, is_type("error"))[-1]
        assert error["code"] == "limit_reached" and error["conversation_id"] == second
        assert "1 open chat" in error["message"]
    assert stored(client, second).state == "waiting" and stored(client, second).agent_id is None


def test_the_limit_holds_when_two_claims_arrive_at_once(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    aiko = add_user(client, "aiko", Role.AGENT, "Aiko", max_open_chats=1)
    first, second = start_waiting(client), start_waiting(client)

    async def race() -> list[BaseException | None]:
        agents = services(client).agents  # e.g. two console tabs, or a tab and auto-assign
        return list(
            await asyncio.gather(
                agents.claim(aiko, first), agents.claim(aiko, second), return_exceptions=True
            )
        )

    assert client.portal is not None
    results = client.portal.call(race)
    owned = [cid for cid in (first, second) if stored(client, cid).agent_id == aiko]
    assert len(owned) == 1, f"max_open_chats=1 but the agent owns {len(owned)}: {results}"


# ---------------------------------------------------------------------- presence
def test_an_agent_who_does_not_come_back_loses_the_conversation_to_the_queue(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, agent_grace_seconds=1)
    _, aiko_headers = new_agent(client, "aiko", "Aiko")
    _, ben_headers = new_agent(client, "ben", "Ben")
    with client.websocket_connect("/ws/chat") as customer:
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        escalate(customer)
        with agent_socket(client, aiko_headers) as aiko:
            claimed_by(aiko, cid)
            events_until(customer, is_type("state", state="agent"))
        left = time.monotonic()

        back = events_until(customer, is_type("state", state="waiting"), timeout=5)
        assert time.monotonic() - left >= 0.9, "requeued before the grace period ended"
        assert messages.text("agent_disconnected", "en") in texts(back)
        assert back[-1]["queue_position"] == 1
    row = stored(client, cid)
    assert (row.state, row.agent_id) == ("waiting", None)
    queue = client.get("/api/queue", headers=ben_headers).json()
    assert [w["conversation_id"] for w in queue["waiting"]] == [cid]


def test_an_agent_who_reconnects_within_the_grace_period_keeps_the_conversation(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, agent_grace_seconds=1)
    aiko_id, headers = new_agent(client, "aiko", "Aiko")
    with client.websocket_connect("/ws/chat") as customer:
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        escalate(customer)
        with agent_socket(client, headers) as agent:
            claimed_by(agent, cid)
            events_until(customer, is_type("state", state="agent"))
        with agent_socket(client, headers) as agent:  # a page reload
            later = quiet(customer, 1.4)
            send(agent, "message", cid, client_id="a1", text="Sorry, my page reloaded.")
            reply = events_until(customer, is_type("message", role="agent"))[-1]
            assert reply["text"] == "Sorry, my page reloaded."
    assert messages.text("agent_disconnected", "en") not in texts(later)
    assert not [e for e in later if e["type"] == "state" and e["state"] != "agent"]
    assert stored(client, cid).agent_id == aiko_id


# ---------------------------------------------------------------------- offline follow-up
@pytest.mark.parametrize(
    ("hours", "why"),
    [("", "handoff_outside_hours"), (ALWAYS_OPEN, "handoff_no_agent")],
    ids=["outside-hours", "no-agent-online"],
)
def test_offline_customers_can_leave_an_address(
    make_client: MakeClient, hours: str, why: str
) -> None:
    client = make_client(business_hours=hours)
    _, headers = new_agent(client, "aiko", "Aiko")
    with client.websocket_connect("/ws/chat") as customer:
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        customer.send_json({"type": "message", "client_id": "c1", "text": "I need a person"})
        events = events_until(customer, is_type("state"))
        assert events[-1]["state"] == "waiting" and events[-1]["offline"] is True
        explained = messages.text(why, "en", hours=f"{hours} (Asia/Tokyo)")
        assert any(explained in t for t in texts(events)), texts(events)

        customer.send_json({"type": "contact", "email": "mika(at)example", "message": "x"})
        error = events_until(customer, is_type("error"))[-1]
        assert error["code"] == "invalid_field" and "email" in error["message"]

        customer.send_json(
            {"type": "contact", "email": " mika@example.com ", "message": "Call me re 4411"}
        )
        thanks = events_until(
            customer, lambda e: e["type"] == "message" and "mika@example.com" in e["text"]
        )[-1]
        assert thanks["role"] == "system" and thanks["text"] == messages.text(
            "contact_thanks", "en", email="mika@example.com"
        )
        assert events_until(customer, is_type("state"))[-1]["state"] == "waiting"

    with agent_socket(client, headers) as agent:
        send(agent, "open", cid)
        context = events_until(agent, is_type("conversation"))[-1]
        assert context["contact"] == {"email": "mika@example.com", "message": "Call me re 4411"}
        queue = client.get("/api/queue", headers=headers).json()
    entry = next(w for w in queue["waiting"] if w["conversation_id"] == cid)
    assert entry["contact_email"] == "mika@example.com" and entry["offline"] is True
    assert queue["open"] is (hours == ALWAYS_OPEN)


def test_a_waiting_customer_is_no_longer_offline_once_an_agent_is_online(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko")
    with client.websocket_connect("/ws/chat") as customer:
        open_chat(customer)
        assert escalate(customer)["offline"] is True
        with agent_socket(client, headers):
            # the queue moves on an agent's arrival, and the customer is sent their state
            state = events_until(customer, is_type("state", offline=False), timeout=1.5)[-1]
            assert state["state"] == "waiting"


# ---------------------------------------------------------------------- queue order
def test_frustrated_customers_are_served_before_earlier_requests(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko")
    with (
        agent_socket(client, headers) as agent,
        client.websocket_connect("/ws/chat") as polite,
        client.websocket_connect("/ws/chat") as angry,
    ):
        polite_id = open_chat(polite)[0]["conversation_id"]
        angry_id = open_chat(angry)[0]["conversation_id"]
        first = escalate(polite)
        assert first["reason"] == "customer_request" and first["queue_position"] == 1
        second = escalate(
            angry,
            "This is RIDICULOUS!!! Third time I ask how to return an item, worst service ever",
        )
        assert second["reason"] == "frustration" and second["queue_position"] == 1
        moved = events_until(polite, is_type("state", queue_position=2))[-1]
        assert moved["state"] == "waiting"
        queue = events_until(
            agent,
            lambda e: e["type"] == "queue" and len(e["waiting"]) == 2,
        )[-1]
    assert [w["conversation_id"] for w in queue["waiting"]] == [angry_id, polite_id]
    assert [w["reason"] for w in queue["waiting"]] == ["frustration", "customer_request"]
    assert queue["waiting"][0]["priority"] > queue["waiting"][1]["priority"]
    assert {w["sla"] for w in queue["waiting"]} == {"ok"}
    assert queue["waiting"][0]["sla_target_seconds"] == 120


# ---------------------------------------------------------------------- agent reconnect
def test_a_reconnecting_agent_gets_exactly_the_messages_after_last_seq(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko")
    with client.websocket_connect("/ws/chat") as customer:
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        escalate(customer)
        with agent_socket(client, headers) as agent:
            claimed_by(agent, cid)
            customer.send_json({"type": "message", "client_id": "c1", "text": "first"})
            seen = events_until(agent, is_type("message", client_id="c1"))[-1]["seq"]
        # the console is away while the customer writes twice
        for n in ("second", "third"):
            customer.send_json({"type": "message", "client_id": n, "text": n})
            events_until(customer, is_type("message", client_id=n))
        with agent_socket(client, headers) as agent:
            send(agent, "open", cid, last_seq=seen)
            context = events_until(agent, is_type("conversation"))[-1]
            assert texts(context["messages"]) == ["second", "third"]
            assert [m["seq"] for m in context["messages"]] == [seen + 1, seen + 2]
            # and live delivery goes on from there, nothing repeated
            customer.send_json({"type": "message", "client_id": "c4", "text": "fourth"})
            live = events_until(agent, is_type("message", client_id="c4"))
            assert [m["seq"] for m in live if m["type"] == "message"] == [seen + 3]


# ---------------------------------------------------------------------- auto-assign
def test_auto_assign_gives_a_new_handoff_to_an_online_agent(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, auto_assign=True)
    aiko_id, headers = new_agent(client, "aiko", "Aiko")
    with agent_socket(client, headers) as agent, client.websocket_connect("/ws/chat") as customer:
        welcome, _ = open_chat(customer)
        cid = welcome["conversation_id"]
        escalate(customer)
        joined = events_until(customer, is_type("state", state="agent"))
        assert joined[-1]["agent"] == "Aiko" and "Aiko" in " ".join(texts(joined))
        events_until(
            agent,
            lambda e: (
                e["type"] == "queue"
                and [m["conversation_id"] for m in e["mine"]] == [cid]
                and not e["waiting"]
            ),
        )
    assert stored(client, cid).agent_id == aiko_id


def test_auto_assign_skips_agents_who_are_away(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, auto_assign=True)
    _, headers = new_agent(client, "aiko", "Aiko")
    with agent_socket(client, headers) as agent, client.websocket_connect("/ws/chat") as customer:
        agent.send_json({"type": "presence", "status": "away"})
        events_until(
            agent,
            lambda e: e["type"] == "queue" and e["agents"][0]["presence"] == "away",
        )
        cid = open_chat(customer)[0]["conversation_id"]
        assert escalate(customer)["offline"] is True
        events_until(agent, queue_with(cid))
        assert [e for e in quiet(customer, 0.3) if e.get("state") == "agent"] == []
    assert stored(client, cid).state == "waiting"


# ---------------------------------------------------------------------- bad input
BAD_AGENT_INPUT: list[tuple[str, Callable[[str], Any], str]] = [
    ("not-json", lambda cid: "{nope", "invalid_json"),
    ("unknown-type", lambda cid: {"type": "shout", "conversation_id": cid}, "unknown_type"),
    ("no-conversation-id", lambda cid: {"type": "claim"}, "missing_field"),
    (
        "conversation-id-not-text",
        lambda cid: {"type": "open", "conversation_id": 7},
        "invalid_field",
    ),
    (
        "unknown-conversation",
        lambda cid: {"type": "open", "conversation_id": "no-such-conversation"},
        "unknown_conversation",
    ),
    (
        "reply-before-claim",
        lambda cid: {"type": "message", "conversation_id": cid, "client_id": "x", "text": "hi"},
        "not_claimed",
    ),
    (
        "typing-before-claim",
        lambda cid: {"type": "typing", "conversation_id": cid, "typing": True},
        "not_claimed",
    ),
    (
        "empty-reply",
        lambda cid: {"type": "message", "conversation_id": cid, "client_id": "x", "text": " "},
        "empty_text",
    ),
    (
        "bad-outcome",
        lambda cid: {"type": "close", "conversation_id": cid, "outcome": "meh", "tags": []},
        "invalid_field",
    ),
    ("bad-presence", lambda cid: {"type": "presence", "status": "asleep"}, "invalid_field"),
]


def test_bad_agent_input_gets_an_error_and_the_console_keeps_working(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko", max_open_chats=50)
    with agent_socket(client, headers) as agent:
        for name, frame, code in BAD_AGENT_INPUT:
            cid = start_waiting(client)
            sent = frame(cid)
            agent.send_text(sent if isinstance(sent, str) else json.dumps(sent))
            error = events_until(agent, is_type("error"))[-1]
            assert (name, error["code"]) == (name, code), error
            assert error["message"], name
            if isinstance(sent, dict) and isinstance(sent.get("conversation_id"), str):
                assert error["conversation_id"] == sent["conversation_id"], name
            # the same socket still works, and the bad frame stored nothing
            claimed_by(agent, cid)
            send(agent, "message", cid, client_id="ok", text="Hello, I'm Aiko.")
            after = events_until(agent, is_type("message", client_id="ok"))[-1]
            assert (name, after["seq"]) == (name, 3), "something stored, or the reply lost"


def test_replying_in_another_agents_conversation_is_refused(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    ben_id = add_user(client, "ben", Role.AGENT, "Ben")
    aiko_id, headers = new_agent(client, "aiko", "Aiko")
    cid = start_waiting(client)
    assert client.portal is not None
    client.portal.call(services(client).agents.claim, ben_id, cid)
    with agent_socket(client, headers) as agent:
        attempts: list[tuple[str, dict[str, Any]]] = [
            ("message", {"client_id": "x", "text": "Let me butt in"}),
            ("typing", {"typing": True}),
            ("hand_back", {}),
            ("close", {"outcome": "resolved", "tags": []}),
            ("transfer", {"to_user_id": aiko_id}),  # "give it to me"
            ("claim", {}),
        ]
        for kind, fields in attempts:
            send(agent, kind, cid, **fields)
            error = events_until(agent, is_type("error"))[-1]
            expected = "already_claimed" if kind == "claim" else "not_owner"
            assert (kind, error["code"]) == (kind, expected)
        send(agent, "open", cid)  # reading is fine
        context = events_until(agent, is_type("conversation"))[-1]
    assert context["agent"] == "Ben"
    assert "Let me butt in" not in texts(context["messages"])
    row = stored(client, cid)
    assert (row.state, row.agent_id) == ("agent", ben_id)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"type": "message", "client_id": "x", "text": "Sure \ud83d"}, id="surrogate"),
        pytest.param({"type": "transfer", "to_user_id": 2**63}, id="huge-user-id"),
    ],
)
def test_input_the_database_cannot_store_does_not_close_the_console(
    make_client: MakeClient, fields: dict[str, Any]
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko")
    cid = start_waiting(client)
    with agent_socket(client, headers) as agent:
        claimed_by(agent, cid)
        agent.send_text(json.dumps({**fields, "conversation_id": cid}))
        assert events_until(agent, is_type("error"))[-1]["message"]
        send(agent, "message", cid, client_id="ok", text="Still here.")
        events_until(agent, is_type("message", client_id="ok"))


def test_a_transfer_never_leaves_the_customer_with_an_absent_agent(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, agent_grace_seconds=1)
    _, headers = new_agent(client, "aiko", "Aiko")
    ben_id = add_user(client, "ben", Role.AGENT, "Ben")  # signed out
    cid = start_waiting(client)
    with agent_socket(client, headers) as agent:
        claimed_by(agent, cid)
        send(agent, "transfer", cid, to_user_id=ben_id)
        quiet(agent, 1.3)
    assert stored(client, cid).agent_id != ben_id, "the conversation sits with an offline agent"


def test_a_colleague_signing_in_does_not_freeze_my_queue(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, ben_headers = new_agent(client, "ben", "Ben")
    _, aiko_headers = new_agent(client, "aiko", "Aiko")
    assert client.portal is not None
    agents = services(client).agents
    # Hold Ben's next queue refresh halfway through its per-agent counts, so that Aiko's
    # sign-in lands inside it every time rather than only when the timing happens to match.
    entered, resume = asyncio.Event(), asyncio.Event()
    original = AgentService._open_chats
    held = False

    async def open_chats(session: AsyncSession, user_id: int) -> int:
        nonlocal held
        if not held:
            held = True
            entered.set()
            await resume.wait()
        return await original(session, user_id)

    with agent_socket(client, ben_headers) as ben:
        monkeypatch.setattr(AgentService, "_open_chats", staticmethod(open_chats))
        client.portal.call(agents.queue_changed_soon)
        client.portal.call(asyncio.wait_for, entered.wait(), 5)
        with agent_socket(client, aiko_headers):  # Aiko signs in for the day
            client.portal.call(resume.set)
        cid = start_waiting(client)
        assert events_until(ben, queue_with(cid), timeout=1.5), "Ben never sees the new customer"
