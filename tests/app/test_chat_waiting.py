"""Quick replies, and the bot that keeps answering while a conversation waits for a person."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.agents import ALWAYS_OPEN, agent_socket, new_agent
from tests.app.conftest import MakeClient, ask, open_chat, receive_until, settle

CLOSED_ALL_WEEK = "sun 00:00-00:01"  # open one minute a week: closed whenever a test runs
UNSURE = {
    "answer_threshold": 1.0,
    "answer_threshold_by_lang": {},
    "suggest_threshold": 0.0,
    "suggest_threshold_by_lang": {},
}


def test_after_hours_a_waiting_customer_gets_the_opening_time_and_still_gets_answers(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=CLOSED_ALL_WEEK, timezone="Asia/Tokyo")
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws, lang="ja")
        notice = ask(ws, "担当者と話したいです", "c1")
        assert notice["kind"] == "handoff"
        assert "0:00 から対応いたします（日本時間）" in notice["text"]
        assert "sun 00:00" not in notice["text"] and "Asia/Tokyo" not in notice["text"]
        state = receive_until(ws, lambda e: e["type"] == "state")[-1]
        assert state["state"] == "waiting" and state["offline"] is True
        # nobody can answer: no place in a queue and no wait to promise, only the opening
        assert state["queue_position"] is None and state["estimated_wait_seconds"] is None
        assert state["opens_at"] and state["opens_at"].endswith("+09:00")

        answer = ask(ws, "パスワードを忘れました", "c2")
        assert answer["kind"] == "answer", "the bot keeps answering while it waits"
        assert answer["citations"][0]["article_id"] == "reset-password-ja"
        # asking for a person again changes nothing: it is already queued
        ws.send_json({"type": "message", "client_id": "c3", "text": "担当者と話したい"})
        receive_until(ws, lambda e: e["type"] == "message" and e["client_id"] == "c3")
        settle(client)
    with client.websocket_connect("/ws/chat") as ws:
        _, replay = open_chat(ws, token=welcome["token"])
        kinds = [(e["role"], e["kind"]) for e in replay if e["type"] == "message"]
        assert kinds[-3:] == [("customer", "text"), ("bot", "answer"), ("customer", "text")]
        assert replay[-1]["state"] == "waiting"


def test_a_quick_reply_is_answered_from_the_chosen_article(make_client: MakeClient) -> None:
    client: TestClient = make_client(**UNSURE)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        offer = ask(ws, "How do I return an item?", "c1")
        assert offer["kind"] == "suggestions"
        assert "](http" not in offer["text"], "choices are buttons, not links out of the chat"
        choices = [c["article_id"] for c in offer["citations"]]
        assert "return-item" in choices

        ws.send_json({"type": "choose", "client_id": "c2", "article_id": "return-item"})
        events = receive_until(ws, lambda e: e["type"] == "message" and e["role"] == "bot")
        choice = next(e for e in events if e["type"] == "message" and e["role"] == "customer")
        assert choice["kind"] == "choice" and choice["text"] == "How to return an item"
        answer = events[-1]
        assert answer["kind"] == "answer" and answer["citations"][0]["article_id"] == "return-item"
        assert "Return request" in answer["text"] and len(answer["text"]) < 700

        ws.send_json({"type": "choose", "client_id": "c3", "article_id": "close-account"})
        error = receive_until(ws, lambda e: e["type"] == "error")[-1]
        assert error["code"] == "unknown_choice" and error["client_id"] == "c3"
        ws.send_json({"type": "choose", "client_id": "c4", "article_id": 7})
        error = receive_until(ws, lambda e: e["type"] == "error")[-1]
        assert error["code"] == "invalid_field" and "article_id" in error["message"]
        ws.send_json({"type": "choose", "client_id": "c5"})
        assert receive_until(ws, lambda e: e["type"] == "error")[-1]["code"] == "missing_field"
        # a resend of the same choice is acknowledged again, not stored twice
        ws.send_json({"type": "choose", "client_id": "c2", "article_id": "return-item"})
        again = receive_until(ws, lambda e: e["type"] == "message")[-1]
        assert again["seq"] == choice["seq"]


def test_queue_positions_are_promised_only_while_someone_can_answer(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    with (
        client.websocket_connect("/ws/chat") as first,
        client.websocket_connect("/ws/chat") as second,
    ):
        open_chat(first)
        open_chat(second)
        first.send_json({"type": "handoff_request"})
        state = receive_until(first, lambda e: e["type"] == "state")[-1]
        assert state["offline"] is True and state["queue_position"] is None, "nobody online"
        assert state["opens_at"] is None, "within business hours"
        _, headers = new_agent(client, "aiko", "Aiko")
        with agent_socket(client, headers):
            second.send_json({"type": "handoff_request"})
            state = receive_until(second, lambda e: e["type"] == "state")[-1]
            assert state["offline"] is False
            assert state["queue_position"] == 2 and state["estimated_wait_seconds"] > 0
