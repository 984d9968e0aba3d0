"""The customer websocket, driven through FastAPI's TestClient with a real SQLite database."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.websockets import WebSocketDisconnect

from bot import messages
from storage.models import Conversation
from tests.app.conftest import (
    MakeClient,
    ask,
    on_both_databases,
    open_chat,
    receive_json,
    receive_until,
    services,
    settle,
)


@on_both_databases
def test_a_question_gets_an_answer_citing_its_article(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, replay = open_chat(ws)
        assert welcome["token"] and welcome["state"] == "bot"
        assert replay == [{"type": "state", "state": "bot", "reason": None, "agent": None}]

        ws.send_json({"type": "message", "client_id": "c1", "text": "How do I return an item?"})
        echo = receive_json(ws)
        assert echo["type"] == "message" and echo["role"] == "customer"
        assert echo["seq"] == 1 and echo["client_id"] == "c1"
        events = receive_until(ws, lambda e: e["type"] == "message")
        assert {"type": "typing", "role": "bot", "typing": True} in events
        answer = events[-1]
        assert answer["role"] == "bot" and answer["kind"] == "answer" and answer["seq"] == 2
        assert answer["citations"][0]["article_id"] == "return-item"
        assert answer["citations"][0]["url"] == "https://help.miraimart.example/en/return-item"
        assert "Return request" in answer["text"]  # the steps, not the whole article
        assert answer["html"].startswith("<ol>") and "<script" not in answer["html"]
        assert 0 < answer["confidence"] <= 1
        assert receive_json(ws) == {"type": "typing", "role": "bot", "typing": False}


def test_japanese_question_is_answered_from_the_japanese_article(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws, lang="ja")
        answer = ask(ws, "返品したいのですが、どうすればいいですか", "c1")
        assert answer["lang"] == "ja"
        assert answer["citations"][0]["article_id"] == "return-item-ja"
        assert answer["kind"] in ("answer", "suggestions")


@on_both_databases
def test_reconnect_replays_exactly_the_missed_messages(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        token = welcome["token"]
        first = ask(ws, "How do I reset my password?", "c1")
        assert first["seq"] == 2
        # The client saw seq 2, then the connection dropped while a second answer arrived.
        ask(ws, "How long does a refund take?", "c2")
        settle(client)

    with client.websocket_connect("/ws/chat") as ws:
        welcome, replay = open_chat(ws, token=token, last_seq=2)
        assert welcome["token"] == token and welcome["last_seq"] == 4
        messages = [e for e in replay if e["type"] == "message"]
        assert [m["seq"] for m in messages] == [3, 4]
        assert messages[0]["text"] == "How long does a refund take?"
        assert messages[1]["role"] == "bot"
        # the conversation goes on with the next seq
        assert ask(ws, "thanks!", "c3")["seq"] == 6


def test_a_resent_client_id_is_stored_once(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        ask(ws, "How do I change my e-mail address?", "same-id")
        receive_until(ws, lambda e: e["type"] == "typing" and not e["typing"])
        ws.send_json(
            {
                "type": "message",
                "client_id": "same-id",
                "text": "How do I change my e-mail address?",
            }
        )
        again = receive_json(ws)
        assert again["type"] == "message" and again["seq"] == 1 and again["client_id"] == "same-id"
        settle(client)
    with client.websocket_connect("/ws/chat") as ws:
        _, replay = open_chat(ws, token=welcome["token"])
        customer = [e for e in replay if e["type"] == "message" and e["role"] == "customer"]
        assert len(customer) == 1
        assert len([e for e in replay if e["type"] == "message" and e["role"] == "bot"]) == 1


BAD_INPUT: list[tuple[Any, str]] = [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_json"),
    ({"type": "shout"}, "unknown_type"),
    ({"text": "no type"}, "unknown_type"),
    ({"type": "message", "text": "hi"}, "missing_field"),
    ({"type": "message", "client_id": "x"}, "missing_field"),
    ({"type": "message", "client_id": 5, "text": "hi"}, "invalid_field"),
    ({"type": "message", "client_id": "x", "text": "   "}, "empty_text"),
    ({"type": "message", "client_id": "x", "text": "a" * 4001}, "text_too_long"),
    ({"type": "feedback", "seq": 99, "helpful": True}, "unknown_message"),
    ({"type": "feedback", "seq": "1", "helpful": True}, "invalid_field"),
    ({"type": "hello", "token": "not-a-real-token"}, "invalid_token"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_INPUT)
def test_bad_input_gets_its_error_and_the_connection_keeps_working(
    client: TestClient, frame: Any, code: str
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        if isinstance(frame, str):
            ws.send_text(frame)
        else:
            ws.send_json(frame)
        error = receive_json(ws)
        assert error["type"] == "error" and error["code"] == code, error
        assert error["message"]
        # still usable, and nothing was lost
        answer = ask(ws, "How do I reset my password?", "after-error")
        assert answer["citations"][0]["article_id"] == "reset-password"
        assert answer["seq"] == 2


def test_events_before_hello_are_refused_politely(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "client_id": "x", "text": "hi"})
        assert receive_json(ws)["code"] == "hello_required"
        open_chat(ws)


def test_an_invalid_token_leaves_the_socket_open_for_a_new_conversation(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "hello", "token": "forged"})
        assert receive_json(ws)["code"] == "invalid_token"
        welcome, _ = open_chat(ws)
        assert welcome["token"] != "forged"


def test_a_long_message_limit_is_configurable(make_client: MakeClient) -> None:
    client = make_client(max_message_chars=10)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ws.send_json({"type": "message", "client_id": "x", "text": "eleven char"})
        error = receive_json(ws)
        assert error["code"] == "text_too_long" and "limit is 10" in error["message"]
        assert error["client_id"] == "x"


def test_frustration_hands_off_even_when_an_answer_exists(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ws.send_json(
            {
                "type": "message",
                "client_id": "c1",
                "text": "This is RIDICULOUS!!! Third time I ask how to return an item, "
                "worst service ever",
            }
        )
        events = receive_until(ws, lambda e: e["type"] == "state")
        assert events[-1]["state"] == "waiting" and events[-1]["reason"] == "frustration"


def test_two_misses_in_a_row_hand_off_for_low_confidence(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        first = ask(ws, "zorblax quantum flux capacitor", "c1")
        assert first["kind"] == "decline" and first["citations"] == []
        ws.send_json({"type": "message", "client_id": "c2", "text": "glorp vexillology yak"})
        events = receive_until(ws, lambda e: e["type"] == "state")
        assert events[-1]["reason"] == "low_confidence"


def test_the_talk_to_a_person_button_queues_the_conversation(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ws.send_json({"type": "handoff_request"})
        events = receive_until(ws, lambda e: e["type"] == "state")
        assert events[-1]["state"] == "waiting"
        ws.send_json({"type": "handoff_request"})  # again: nothing new, just the state
        assert receive_json(ws)["type"] == "state"


def test_feedback_is_stored_and_replayed(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        answer = ask(ws, "How do I reset my password?", "c1")
        receive_until(ws, lambda e: e["type"] == "typing" and not e["typing"])
        ws.send_json({"type": "feedback", "seq": answer["seq"], "helpful": False})
        assert receive_json(ws) == {"type": "feedback", "seq": answer["seq"], "helpful": False}
    with client.websocket_connect("/ws/chat") as ws:
        _, replay = open_chat(ws, token=welcome["token"])
        bot = next(e for e in replay if e["type"] == "message" and e["role"] == "bot")
        assert bot["feedback"] is False


def test_small_talk_is_answered_without_a_lookup(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        reply = ask(ws, "hello!", "c1")
        assert reply["kind"] == "smalltalk" and reply["citations"] == []


def test_customer_html_is_escaped(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ws.send_json(
            {"type": "message", "client_id": "x", "text": "<img src=x onerror=alert(1)> hello"}
        )
        echo = receive_json(ws)
        assert "<img" not in echo["html"] and "&lt;img" in echo["html"]


@on_both_databases
def test_a_page_from_another_origin_is_refused(make_client: MakeClient) -> None:
    long_origin = "http://shop.example/" + "x" * 400  # longer than the column; PostgreSQL minds
    client = make_client(allowed_origins=["http://shop.example", long_origin])
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/chat", headers={"origin": "http://evil.example"}) as ws,
    ):
        receive_json(ws)
    assert refused.value.code == 1008
    for origin in ("http://shop.example", long_origin):
        with client.websocket_connect("/ws/chat", headers={"origin": origin}) as ws:
            open_chat(ws)


def test_demo_page_embeds_the_widget(client: TestClient) -> None:
    page = client.get("/?lang=ja")
    assert page.status_code == 200
    assert 'src="http://testserver/widget.js"' in page.text and 'data-lang="ja"' in page.text
    script = client.get("/widget.js")  # the one-tag loader imports the widget's modules
    assert script.status_code == 200 and "/static/widget/main.js" in script.text
    module = client.get("/static/widget/ui.js")  # a shop on another origin may import it
    assert "attachShadow" in module.text
    assert module.headers["access-control-allow-origin"] == "*"
    assert client.get("/readyz").json()["checks"]["articles"] >= 50


# ---------------------------------------------------------------------- ending and rating
def end(ws: Any) -> list[dict[str, Any]]:
    """The customer ends the chat; returns the events up to the closed `state`."""
    ws.send_json({"type": "end"})
    events = receive_until(ws, lambda e: e["type"] == "state")
    assert events[-1]["state"] == "closed", events
    return events


def rate(ws: Any, score: Any, **fields: Any) -> dict[str, Any]:
    """Send `rate`; returns the first answer (`rated` or `error`)."""
    ws.send_json({"type": "rate", "score": score, **fields})
    return receive_until(ws, lambda e: e["type"] in ("rated", "error"))[-1]


def stored_rating(client: TestClient, public_id: str) -> tuple[Any, ...]:
    async def load() -> tuple[Any, ...]:
        async with services(client).sessions() as session:
            row = await session.scalar(
                select(Conversation).where(Conversation.public_id == public_id)
            )
            assert row is not None
            return row.outcome, row.csat_score, row.csat_comment, row.rated_at

    assert client.portal is not None
    return client.portal.call(load)


def test_the_customer_ends_a_bot_chat_rates_it_and_may_change_the_rating(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        cid = welcome["conversation_id"]
        ask(ws, "How do I return an item?", "c1")
        settle(client)
        events = end(ws)
        notice = next(e for e in events if e["type"] == "message")
        assert notice["role"] == "system" and notice["text"] == messages.text(
            "customer_ended", "en"
        )
        closed = events[-1]
        assert closed["outcome"] == "customer_ended"
        csat = closed["csat"]
        assert (csat["rated"], csat["score"], csat["open"]) == (False, None, True)
        assert csat["texts"]["question"] == "How was your conversation?"
        assert csat["texts"]["choices"][0] == "Very bad" and len(csat["texts"]["choices"]) == 5

        first = rate(ws, 4)
        assert (first["type"], first["score"], first["comment"]) == ("rated", 4, None)
        assert stored_rating(client, cid)[:3] == ("customer_ended", 4, None)
        # changed within the window: the new rating replaces the old one
        second = rate(ws, 2, comment="  The answer was not what I needed.  ")
        assert (second["score"], second["comment"]) == (2, "The answer was not what I needed.")
        assert stored_rating(client, cid)[1:3] == (2, "The answer was not what I needed.")

        # a closed conversation takes no more messages; ending it again changes nothing
        ws.send_json({"type": "message", "client_id": "late", "text": "hello?"})
        assert receive_until(ws, lambda e: e["type"] == "error")[-1]["code"] == (
            "conversation_closed"
        )
        assert end(ws)[-1]["csat"]["score"] == 2

    # a reload shows the thank-you, not the question again
    with client.websocket_connect("/ws/chat") as ws:
        _, replay = open_chat(ws, token=welcome["token"])
        state = replay[-1]
        assert state["state"] == "closed" and state["outcome"] == "customer_ended"
        assert state["csat"]["rated"] is True and state["csat"]["score"] == 2
        assert state["csat"]["comment"] == "The answer was not what I needed."
        notices = [e for e in replay if e["type"] == "message" and e["role"] == "system"]
        assert len(notices) == 1, "ending twice stored a second notice"


def test_the_rating_prompt_speaks_the_conversations_language(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws, lang="ja")
        ask(ws, "返品したいのですが、どうすればいいですか", "c1")
        settle(client)
        events = end(ws)
        assert messages.text("customer_ended", "ja") in [
            e["text"] for e in events if e["type"] == "message"
        ]
        texts = events[-1]["csat"]["texts"]
        assert texts["question"] == messages.text("csat_question", "ja")
        assert texts["choices"][-1] == messages.text("csat_score_5", "ja")


def test_rating_before_the_conversation_ends_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        error = rate(ws, 5)
        assert error["code"] == "not_closed" and error["message"]
        assert ask(ws, "How do I reset my password?", "c1")["kind"] == "answer"
    assert stored_rating(client, welcome["conversation_id"])[1] is None


BAD_RATINGS: list[tuple[dict[str, Any], str]] = [
    ({"type": "rate"}, "missing_field"),
    ({"type": "rate", "score": "4"}, "invalid_field"),
    ({"type": "rate", "score": True}, "invalid_field"),
    ({"type": "rate", "score": 4.0}, "invalid_field"),
    ({"type": "rate", "score": 0}, "invalid_field"),
    ({"type": "rate", "score": 6}, "invalid_field"),
    ({"type": "rate", "score": -1}, "invalid_field"),
    ({"type": "rate", "score": 3, "comment": 42}, "invalid_field"),
    ({"type": "rate", "score": 3, "comment": "nul\x00"}, "invalid_field"),
    ({"type": "rate", "score": 3, "comment": "a" * 4001}, "text_too_long"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_RATINGS)
def test_a_bad_rating_gets_its_error_and_the_earlier_rating_stays(
    client: TestClient, frame: dict[str, Any], code: str
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        end(ws)
        assert rate(ws, 5, comment="Quick and kind")["type"] == "rated"
        ws.send_json(frame)
        error = receive_until(ws, lambda e: e["type"] == "error")[-1]
        assert error["code"] == code and error["message"], error
        assert stored_rating(client, welcome["conversation_id"])[1:3] == (5, "Quick and kind")
        # the socket is still usable
        assert rate(ws, 3)["score"] == 3


def test_a_rating_can_no_longer_be_given_a_day_after_the_end(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        end(ws)

    async def age() -> None:
        async with services(client).sessions.begin() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.public_id == welcome["conversation_id"])
                .values(closed_at=datetime.now(UTC) - timedelta(hours=25))
            )

    assert client.portal is not None
    client.portal.call(age)
    with client.websocket_connect("/ws/chat") as ws:
        _, replay = open_chat(ws, token=welcome["token"])
        assert replay[-1]["csat"]["open"] is False
        assert rate(ws, 5)["code"] == "rating_closed"
    assert stored_rating(client, welcome["conversation_id"])[1] is None


def ask_and_leave(client: TestClient, client_id: str) -> None:
    """A customer opens a chat, asks one question, gets the answer and closes the widget."""
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ask(ws, "How do I return an item?", client_id)
        receive_until(ws, lambda e: e["type"] == "typing" and not e["typing"])


def test_a_long_running_server_keeps_no_lock_per_past_conversation(client: TestClient) -> None:
    for n in range(20):
        ask_and_leave(client, f"c{n}")
    settle(client)
    gc.collect()
    running = services(client)
    assert (len(running.locks), len(running.work)) == (0, 0)  # type: ignore[arg-type]


def test_a_closed_chat_is_freed_at_once_not_at_the_collectors_next_pass(
    client: TestClient,
) -> None:
    """A busy server's collector passes over its older objects rarely: a closed chat whose
    objects (its socket, its session, their buffers) refer to one another in a cycle waits
    minutes for one, and a soak grew by megabytes a minute."""
    from app.routes.chat import ChatSession

    def sessions() -> int:  # the collector lists unreachable objects too, until it frees them
        return sum(isinstance(o, ChatSession) for o in gc.get_objects())

    gc.collect()
    gc.disable()
    try:
        for n in range(3):
            ask_and_leave(client, f"c{n}")
        settle(client)
        assert sessions() == 0
    finally:
        gc.enable()
