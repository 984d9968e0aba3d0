"""Presence and the queue: grace periods, offline customers, order, reconnects, auto-assign."""

from __future__ import annotations

import time

import pytest

from bot import messages
from tests.app import agents
from tests.app.agents import (
    ALWAYS_OPEN,
    agent_socket,
    claimed_by,
    escalate,
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
    open_chat,
)

# the apps these tests run (pytest finds fixtures by name in the module)
seeded_data = agents.seeded_data
make_client = agents.make_client


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
        # nobody is online now: no place in a queue to promise
        assert back[-1]["offline"] is True and back[-1]["queue_position"] is None
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
        if why == "handoff_outside_hours":  # never open: no time to promise, no raw setting
            explained = messages.text(why, "en", back="").replace("  ", " ")
        else:
            explained = messages.text(why, "en")
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
def test_a_long_queue_lists_its_first_conversations_and_counts_them_all(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, console_waiting_shown=2)
    _, headers = new_agent(client, "aiko", "Aiko")
    first, second, third = (start_waiting(client) for _ in range(3))
    with agent_socket(client, headers) as agent:
        with client.websocket_connect("/ws/chat") as angry:
            open_chat(angry)
            escalate(angry, "This is RIDICULOUS!!! Third time I ask, worst service ever")
            queue = events_until(agent, lambda e: e["type"] == "queue" and e["waiting_total"] == 4)
        listed = [w["conversation_id"] for w in queue[-1]["waiting"]]
        assert len(listed) == 2 and listed[1] == first, "in service order: the angry one first"
        # the claim's queue update may come before or after its "claimed" and
        # "conversation" events: read them all as one stream
        send(agent, "claim", listed[0])
        queue = events_until(agent, lambda e: e["type"] == "queue" and e["waiting_total"] == 3)
    assert [w["conversation_id"] for w in queue[-1]["waiting"]] == [first, second], (
        "the next one moves up into the list"
    )
    assert third not in str(queue[-1]["waiting"])


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


def test_a_waiting_customer_is_not_told_the_same_place_again_when_others_join(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko")
    with agent_socket(client, headers), client.websocket_connect("/ws/chat") as first:
        open_chat(first)
        assert escalate(first)["queue_position"] == 1
        quiet(first, 0.5)  # what the first refresh says
        for n in range(3):  # three more join behind: the first's place and wait stay
            with client.websocket_connect("/ws/chat") as other:
                open_chat(other)
                assert escalate(other)["queue_position"] == n + 2
        later = quiet(first, 1.0)
    assert [e for e in later if e["type"] == "state"] == []


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
