"""What the agent-console tests share: apps with agents, signing in, both sockets."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.testclient import WebSocketTestSession

from accounts.users import Role, create_user
from app.main import create_app
from app.settings import Settings
from storage.models import Conversation
from tests.app.conftest import (
    MakeClient,
    open_chat,
    receive_message,
    services,
)
from tests.conftest import SAMPLE_KB, CountingEmbedding

PASSWORD = "correct horse battery"
ALWAYS_OPEN = "mon-sun 00:00-24:00"
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
def event_or_close(ws: WebSocketTestSession, timeout: float = 5.0) -> Event | int:
    """The next event, or the code the server closed the socket with; a failure (never a
    hang) when nothing comes in time, or the connection ends without a close frame."""
    message = receive_message(ws, timeout)
    if message["type"] == "websocket.close":
        code: int = message.get("code", 1000)
        return code
    event: Event = json.loads(message["text"])
    return event


def next_event(ws: WebSocketTestSession, timeout: float = 5.0) -> Event:
    """The next event, or a failure (never a hang) when none comes in time."""
    event = event_or_close(ws, timeout)
    if isinstance(event, int):
        raise AssertionError(f"the server closed the socket with code {event}")
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


def mine_entry(cid: str, unread: int, preview: str | None = None) -> Callable[[Event], bool]:
    """A queue event whose own-chats entry for `cid` shows `unread` unanswered messages
    (and, when given, `preview` as the latest)."""
    return lambda e: (
        e["type"] == "queue"
        and any(
            m["conversation_id"] == cid
            and m["unread"] == unread
            and preview in (None, m["preview"])
            for m in e["mine"]
        )
    )


def answer_to(cid: str) -> Callable[[Event], bool]:
    """The console's answer to a claim of `cid`: `claimed`, or an `error`."""
    return lambda e: e["type"] in ("claimed", "error") and e.get("conversation_id") == cid
