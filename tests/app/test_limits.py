"""Limits on the customer websocket: what a script that floods it, or holds sockets open
without speaking, sees (docs/protocol.md "Limits")."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.app.conftest import MakeClient, open_chat, receive_json, receive_until, services, settle


def send_messages(ws, count: int, prefix: str = "m") -> list[dict]:
    """Send `count` messages at once; the answer to each (its echo, or an error)."""
    for i in range(count):
        ws.send_json({"type": "message", "client_id": f"{prefix}{i}", "text": f"hello {i}"})
    answers: dict[str, dict] = {}
    while len(answers) < count:
        event = receive_json(ws)
        if event["type"] == "error" or (event["type"] == "message" and event["role"] == "customer"):
            answers[event["client_id"]] = event
    return [answers[f"{prefix}{i}"] for i in range(count)]


def test_a_burst_past_the_limit_is_refused_and_the_socket_stays_open(
    make_client: MakeClient,
) -> None:
    client = make_client(chat_messages_per_token="5/minute")
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        answers = send_messages(ws, 8)
        stored = [a for a in answers if a["type"] == "message"]
        refused = [a for a in answers if a["type"] == "error"]
        assert [a["seq"] for a in stored] == [1, 3, 5, 7, 9] or len(stored) == 5
        assert len(refused) == 3
        assert {r["code"] for r in refused} == {"rate_limited"}
        assert all(1 <= r["retry_after"] <= 60 for r in refused)
        assert [r["client_id"] for r in refused] == ["m5", "m6", "m7"]
        # the connection is still open and usable
        ws.send_json({"type": "typing", "typing": True})
        ws.send_json({"type": "hello", "token": welcome["token"], "last_seq": 0})
        replayed = receive_until(ws, lambda e: e["type"] == "state")
        settle(client)
    texts = [e["text"] for e in replayed if e["type"] == "message" and e["role"] == "customer"]
    assert texts == [f"hello {i}" for i in range(5)]  # nothing accepted before was lost


def test_a_new_connection_does_not_reset_the_count(make_client: MakeClient) -> None:
    client = make_client(chat_messages_per_token="2/minute")
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        assert [a["type"] for a in send_messages(ws, 2)] == ["message", "message"]
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws, token=welcome["token"], last_seq=10**6)
        (answer,) = send_messages(ws, 1, prefix="again")
        assert answer["code"] == "rate_limited"


def test_the_address_limit_covers_new_conversations(make_client: MakeClient) -> None:
    client = make_client(chat_messages_per_ip="3/minute")
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)  # hello is 1
        answers = send_messages(ws, 3)
        assert [a["type"] for a in answers] == ["message", "message", "error"]
        ws.send_json({"type": "hello"})  # a new conversation is refused too
        # the bot's replies to the two accepted messages may still be arriving
        *_, refused = receive_until(ws, lambda e: e["type"] == "error")
        assert refused["code"] == "rate_limited"
    assert services(client).settings.chat_messages_per_ip == "3/minute"


def test_the_default_limits_never_stop_a_person_typing(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        for i in range(12):  # a quick typist: 12 messages, typing events in between
            ws.send_json({"type": "typing", "typing": True})
            (answer,) = send_messages(ws, 1, prefix=f"p{i}-")
            assert answer["type"] == "message", answer


def test_connections_per_address_are_capped(make_client: MakeClient) -> None:
    client = make_client(chat_connections_per_ip=2)
    with client.websocket_connect("/ws/chat") as first, client.websocket_connect("/ws/chat"):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/ws/chat") as third,
        ):
            receive_json(third)
        assert refused.value.code == 1013
        open_chat(first)  # the others work
    # closed connections give their places back
    with client.websocket_connect("/ws/chat") as ws, client.websocket_connect("/ws/chat") as ws2:
        open_chat(ws)
        open_chat(ws2)


def test_a_socket_that_never_says_hello_is_closed(make_client: MakeClient) -> None:
    client = make_client(chat_hello_seconds=0.3)
    started = time.monotonic()
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "typing", "typing": True})  # not hello: the clock runs on
        assert receive_json(ws)["code"] == "hello_required"
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_json(ws)
    assert closed.value.code == 1008 and closed.value.reason == "no hello in time"
    assert time.monotonic() - started < 5


def test_an_idle_socket_is_closed_after_the_idle_timeout(make_client: MakeClient) -> None:
    client = make_client(chat_idle_seconds=0.5)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                receive_json(ws)
    assert closed.value.code == 1001


def test_a_frame_larger_than_the_limit_closes_with_1009(make_client: MakeClient) -> None:
    client = make_client(ws_max_frame_bytes=60_000)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ws.send_text("[" * 100_000 + "]" * 100_000)
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_json(ws)
    assert closed.value.code == 1009


def test_the_frame_limit_must_hold_a_whole_message(make_settings) -> None:
    with pytest.raises(ValueError, match="KAKEHASHI_WS_MAX_FRAME_BYTES"):
        make_settings(ws_max_frame_bytes=10_000)


def test_a_client_that_keeps_ignoring_the_limit_is_closed(make_client: MakeClient) -> None:
    client = make_client(chat_messages_per_token="3/minute", chat_refusals_before_close=4)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        for i in range(12):  # a script: never waits for retry_after
            ws.send_json({"type": "message", "client_id": f"s{i}", "text": f"buy {i}"})
        refused: list[dict] = []
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                event = receive_json(ws)
                if event["type"] == "error":
                    refused.append(event)
    assert closed.value.code == 1008
    assert [e["code"] for e in refused] == ["rate_limited"] * 4, "told 4 times, then closed"


def test_waiting_as_told_resets_the_count_of_refusals(make_client: MakeClient) -> None:
    client = make_client(chat_frames_per_connection="3/2 seconds", chat_refusals_before_close=2)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)  # hello is frame 1
        for round_ in range(3):  # each round: accepted, then refused twice; never closed
            answers = send_messages(ws, 4, prefix=f"r{round_}-")
            assert [a["type"] for a in answers].count("error") >= 1
            time.sleep(2.1)
            ws.send_json({"type": "typing", "typing": True})
        ws.send_json({"type": "message", "client_id": "last", "text": "still here"})
        receive_until(ws, lambda e: e.get("client_id") == "last")
