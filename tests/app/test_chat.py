"""The customer websocket, driven through FastAPI's TestClient with a real SQLite database."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.app.conftest import MakeClient, ask, open_chat, receive_until, settle


def test_a_question_gets_an_answer_citing_its_article(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, replay = open_chat(ws)
        assert welcome["token"] and welcome["state"] == "bot"
        assert replay == [{"type": "state", "state": "bot", "reason": None, "agent": None}]

        ws.send_json({"type": "message", "client_id": "c1", "text": "How do I return an item?"})
        echo = ws.receive_json()
        assert echo["type"] == "message" and echo["role"] == "customer"
        assert echo["seq"] == 1 and echo["client_id"] == "c1"
        events = receive_until(ws, lambda e: e["type"] == "message")
        assert {"type": "typing", "role": "bot", "typing": True} in events
        answer = events[-1]
        assert answer["role"] == "bot" and answer["kind"] == "answer" and answer["seq"] == 2
        assert answer["citations"][0]["article_id"] == "return-item"
        assert answer["citations"][0]["url"] == "https://help.miraimart.example/en/return-item"
        assert "30 days" in answer["text"]
        assert answer["html"].startswith("<p>") and "<script" not in answer["html"]
        assert 0 < answer["confidence"] <= 1
        assert ws.receive_json() == {"type": "typing", "role": "bot", "typing": False}


def test_japanese_question_is_answered_from_the_japanese_article(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws, lang="ja")
        answer = ask(ws, "返品したいのですが、どうすればいいですか", "c1")
        assert answer["lang"] == "ja"
        assert answer["citations"][0]["article_id"] == "return-item-ja"
        assert answer["kind"] in ("answer", "suggestions")


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
        again = ws.receive_json()
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
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == code, error
        assert error["message"]
        # still usable, and nothing was lost
        answer = ask(ws, "How do I reset my password?", "after-error")
        assert answer["citations"][0]["article_id"] == "reset-password"
        assert answer["seq"] == 2


def test_events_before_hello_are_refused_politely(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "client_id": "x", "text": "hi"})
        assert ws.receive_json()["code"] == "hello_required"
        open_chat(ws)


def test_an_invalid_token_leaves_the_socket_open_for_a_new_conversation(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "hello", "token": "forged"})
        assert ws.receive_json()["code"] == "invalid_token"
        welcome, _ = open_chat(ws)
        assert welcome["token"] != "forged"


def test_a_long_message_limit_is_configurable(make_client: MakeClient) -> None:
    client = make_client(max_message_chars=10)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ws.send_json({"type": "message", "client_id": "x", "text": "eleven char"})
        error = ws.receive_json()
        assert error["code"] == "text_too_long" and "limit is 10" in error["message"]
        assert error["client_id"] == "x"


def test_an_explicit_request_hands_off_and_the_bot_then_stays_silent(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        ws.send_json(
            {"type": "message", "client_id": "c1", "text": "Can I talk to a human please?"}
        )
        events = receive_until(ws, lambda e: e["type"] == "state")
        notice = next(e for e in events if e["type"] == "message" and e["role"] == "bot")
        assert notice["kind"] == "handoff"
        state = events[-1]
        assert state["state"] == "waiting" and state["reason"] == "customer_request"
        assert state["queue_position"] == 1 and state["estimated_wait_seconds"] > 0

        ws.send_json({"type": "message", "client_id": "c2", "text": "How do I return an item?"})
        echo = receive_until(ws, lambda e: e["type"] == "message")[-1]
        assert echo["role"] == "customer" and echo["seq"] == 3
        settle(client)
    with client.websocket_connect("/ws/chat") as ws:
        _, replay = open_chat(ws, token=welcome["token"])
        roles = [e["role"] for e in replay if e["type"] == "message"]
        assert roles == ["customer", "bot", "customer"], "no bot reply while waiting"
        assert replay[-1]["state"] == "waiting"


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
        assert ws.receive_json()["type"] == "state"


def test_queue_position_counts_earlier_conversations(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws/chat") as first,
        client.websocket_connect("/ws/chat") as second,
    ):
        open_chat(first)
        open_chat(second)
        first.send_json({"type": "handoff_request"})
        assert receive_until(first, lambda e: e["type"] == "state")[-1]["queue_position"] == 1
        second.send_json({"type": "handoff_request"})
        assert receive_until(second, lambda e: e["type"] == "state")[-1]["queue_position"] == 2


def test_feedback_is_stored_and_replayed(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        answer = ask(ws, "How do I reset my password?", "c1")
        receive_until(ws, lambda e: e["type"] == "typing" and not e["typing"])
        ws.send_json({"type": "feedback", "seq": answer["seq"], "helpful": False})
        assert ws.receive_json() == {"type": "feedback", "seq": answer["seq"], "helpful": False}
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
        echo = ws.receive_json()
        assert "<img" not in echo["html"] and "&lt;img" in echo["html"]


def test_a_page_from_another_origin_is_refused(make_client: MakeClient) -> None:
    client = make_client(allowed_origins=["http://shop.example"])
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/chat", headers={"origin": "http://evil.example"}) as ws,
    ):
        ws.receive_json()
    assert refused.value.code == 1008
    with client.websocket_connect("/ws/chat", headers={"origin": "http://shop.example"}) as ws:
        open_chat(ws)


def test_demo_page_embeds_the_widget(client: TestClient) -> None:
    page = client.get("/?lang=ja")
    assert page.status_code == 200
    assert 'src="http://testserver/widget.js"' in page.text and 'data-lang="ja"' in page.text
    script = client.get("/widget.js")
    assert script.status_code == 200 and "attachShadow" in script.text
    assert client.get("/healthz").json()["articles"] >= 50
