"""Bad or hostile console input: an error event, and the console keeps working."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.users import Role
from handoff import _rows
from tests.app import agents
from tests.app.agents import (
    ALWAYS_OPEN,
    add_user,
    agent_socket,
    claimed_by,
    events_until,
    is_type,
    new_agent,
    queue_with,
    quiet,
    send,
    start_waiting,
    stored,
    texts,
)
from tests.app.conftest import (
    MakeClient,
    services,
)

# the apps these tests run (pytest finds fixtures by name in the module)
seeded_data = agents.seeded_data
make_client = agents.make_client

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
    # Hold Ben's next queue refresh halfway, at its count of open chats, so that Aiko's
    # sign-in lands inside it every time rather than only when the timing happens to match.
    entered, resume = asyncio.Event(), asyncio.Event()
    original = _rows.open_chats_by_agent
    held = False

    async def open_chats_by_agent(session: AsyncSession) -> dict[int, int]:
        nonlocal held
        if not held:
            held = True
            entered.set()
            await resume.wait()
        return await original(session)

    with agent_socket(client, ben_headers) as ben:
        monkeypatch.setattr(_rows, "open_chats_by_agent", open_chats_by_agent)
        client.portal.call(agents.lineup.changed_soon)
        client.portal.call(asyncio.wait_for, entered.wait(), 5)
        with agent_socket(client, aiko_headers):  # Aiko signs in for the day
            client.portal.call(resume.set)
        cid = start_waiting(client)
        assert events_until(ben, queue_with(cid), timeout=1.5), "Ben never sees the new customer"
