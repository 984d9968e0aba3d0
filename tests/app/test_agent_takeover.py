"""Taking over a conversation: claim, reply, notes, hand back, close, rating, transfer."""

from __future__ import annotations

from datetime import datetime

from starlette.testclient import WebSocketTestSession

from bot import messages
from tests.app import agents
from tests.app.agents import (
    ALWAYS_OPEN,
    agent_socket,
    claimed_by,
    claimed_chat,
    escalate,
    events_until,
    is_type,
    mine_entry,
    new_agent,
    queue_with,
    quiet,
    send,
    stored,
    texts,
)
from tests.app.conftest import (
    MakeClient,
    ask,
    on_both_databases,
    open_chat,
    settle,
)

# the apps these tests run (pytest finds fixtures by name in the module)
seeded_data = agents.seeded_data
make_client = agents.make_client


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
        assert context["summary"][:2] == [
            "Needs now: “How long does a refund take?”",  # not the bare request for a person
            "Handed off because the customer asked for a person",
        ]
        assert any(line.startswith("Bot answered from: ") for line in context["summary"])
        assert 1 <= len(context["suggestions"]) <= 3
        assert context["suggestions"][0]["article_id"] == refund["citations"][0]["article_id"]
        first = context["suggestions"][0]
        assert first["html"].startswith("<") and "**" not in first["html"], "rendered Markdown"

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


def test_own_chats_count_the_customers_unanswered_messages(make_client: MakeClient) -> None:
    with claimed_chat(make_client) as (_, _, _, agent, customer, cid):
        for n, text in enumerate(["Order 4411", "It was the blue teapot"], start=1):
            customer.send_json({"type": "message", "client_id": f"u{n}", "text": text})
            # the console shows the new message and the count together. (On SQLite a
            # snapshot's reads are separate statements: one taken as the message commits
            # can pair the new count with the previous preview; the message's own refresh
            # follows it.)
            events_until(agent, mine_entry(cid, n, preview=text))
        # the agent answers: nothing is left unanswered
        send(agent, "message", cid, client_id="a1", text="Thanks, looking at it now.")
        events_until(agent, mine_entry(cid, 0))
        customer.send_json({"type": "message", "client_id": "u3", "text": "Thank you!"})
        events_until(agent, mine_entry(cid, 1))


def agent_replies(
    agent: WebSocketTestSession, customer: WebSocketTestSession, cid: str, text: str
) -> None:
    """The agent writes to the customer, who has it before this returns."""
    send(agent, "message", cid, client_id="a1", text=text)
    events_until(customer, is_type("message", client_id="a1"))


def test_an_agent_who_hands_back_keeps_the_conversation_in_the_reports(
    make_client: MakeClient,
) -> None:
    with claimed_chat(make_client) as (client, aiko_id, headers, agent, customer, cid):
        agent_replies(agent, customer, cid, "Hi, I'm Aiko. All sorted?")
        send(agent, "hand_back", cid)
        events_until(customer, is_type("state", state="bot"))
        body = client.get("/api/reports", headers=headers).json()
    [aiko] = body["agents"]
    assert (aiko["agent_id"], aiko["name"], aiko["conversations"]) == (aiko_id, "Aiko", 1)
    assert aiko["first_response_median"] is not None


def test_a_question_asked_just_before_the_hand_back_gets_the_bots_answer(
    make_client: MakeClient,
) -> None:
    with claimed_chat(make_client) as (_client, _aiko_id, _headers, agent, customer, cid):
        agent_replies(agent, customer, cid, "Your refund is on its way.")
        customer.send_json(
            {"type": "message", "client_id": "c9", "text": "How long does a refund take?"}
        )
        events_until(customer, is_type("message", client_id="c9"))
        send(agent, "hand_back", cid)
        events = events_until(customer, is_type("message", role="bot"), timeout=15)
    assert any(e["type"] == "state" and e["state"] == "bot" for e in events)
    answer = events[-1]
    assert answer["kind"] == "answer" and answer["citations"], answer


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
        assert closed["agent"] == "Aiko", "the customer is told who helped, not 'unassigned'"
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
        assert state["agent"] == "Aiko"
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
