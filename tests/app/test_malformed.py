"""Malformed frames on both sockets: each gets a documented error (or close code), never a
dropped connection; and nothing raw a customer sent reaches the log."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from tests.app import agents
from tests.app.agents import agent_socket, events_until, is_type, new_agent, next_event
from tests.app.conftest import open_chat, receive_json, receive_until

seeded_data = agents.seeded_data
make_client = agents.make_client

NESTED = "[" * 30_000 + "]" * 30_000  # within the frame limit, far past json's depth
HUGE_NESTED = "[" * 100_000 + "]" * 100_000  # past the frame limit
LONE = "\ud800"


def raw(event: dict[str, object]) -> str:
    """JSON as a client without ensure_ascii would send it (lone surrogates escaped)."""
    return json.dumps(event)


def still_open_chat(ws: WebSocketTestSession) -> None:
    ws.send_json({"type": "typing", "typing": True})
    ws.send_json({"type": "feedback", "seq": "x", "helpful": True})
    assert receive_until(ws, lambda e: e["type"] == "error")[-1]["code"] == "invalid_field"


CHAT_CASES = [
    ("nested", NESTED, "invalid_json"),
    (
        "lone-surrogate-client-id",
        raw({"type": "message", "client_id": LONE, "text": "hi"}),
        "invalid_field",
    ),
    (
        "lone-surrogate-text",
        raw({"type": "message", "client_id": "c", "text": "a" + LONE}),
        "invalid_field",
    ),
    ("lone-surrogate-token", raw({"type": "hello", "token": LONE}), "invalid_field"),
    ("lone-surrogate-type", raw({"type": LONE}), "unknown_type"),
    (
        "lone-surrogate-contact",
        raw({"type": "contact", "email": "a@example.com", "message": "mail a@example.com" + LONE}),
        "invalid_field",
    ),
    ("binary-garbage", b"\xff\xfe\x00", "invalid_json"),
]


@pytest.mark.parametrize(
    ("frame", "code"), [c[1:] for c in CHAT_CASES], ids=[c[0] for c in CHAT_CASES]
)
def test_chat_answers_every_malformed_frame_and_stays_open(
    client: TestClient, frame: str | bytes, code: str
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        if isinstance(frame, bytes):
            ws.send_bytes(frame)
        else:
            ws.send_text(frame)
        error = receive_json(ws)
        assert error["type"] == "error" and error["code"] == code, error
        assert "client_id" not in error or error["client_id"].isascii()
        still_open_chat(ws)


AGENT_CASES = [
    ("nested", NESTED, "invalid_json"),
    (
        "lone-surrogate-conversation",
        raw({"type": "open", "conversation_id": LONE}),
        "invalid_field",
    ),
    (
        "lone-surrogate-client-id",
        raw({"type": "message", "conversation_id": "x", "client_id": LONE, "text": "hi"}),
        "invalid_field",
    ),
    ("lone-surrogate-status", raw({"type": "presence", "status": LONE}), "invalid_field"),
]


@pytest.mark.parametrize(
    ("frame", "code"), [c[1:] for c in AGENT_CASES], ids=[c[0] for c in AGENT_CASES]
)
def test_agent_socket_answers_every_malformed_frame_and_stays_open(
    make_client,
    frame: str,
    code: str,
) -> None:
    client = make_client()
    _, headers = new_agent(client, "aiko", "Aiko")
    with agent_socket(client, headers) as ws:
        ws.send_text(frame)
        error = events_until(ws, is_type("error"))[-1]
        assert error["code"] == code, error
        assert error.get("conversation_id") in (None, "x")
        ws.send_json({"type": "open", "conversation_id": "nobody"})
        assert events_until(ws, is_type("error"))[-1]["code"] == "unknown_conversation"


def test_a_frame_past_the_limit_closes_the_agent_socket_with_1009(make_client) -> None:
    client = make_client()
    _, headers = new_agent(client, "aiko", "Aiko")
    with agent_socket(client, headers) as ws:
        ws.send_text(HUGE_NESTED)
        with pytest.raises(AssertionError, match="code 1009"):
            while True:
                assert next_event(ws)["type"] == "queue"


def test_a_failing_event_logs_no_customer_text_and_names_the_conversation(
    client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversations = client.app.state.services.conversations  # type: ignore[attr-defined]

    async def broken(*args: object) -> None:
        raise RuntimeError("contact failed for aiko@example.com, call 090-1234-5678")

    monkeypatch.setattr(conversations, "contact", broken)
    with caplog.at_level(logging.ERROR), client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        ws.send_json(
            {
                "type": "contact",
                "email": "aiko@example.com",
                "message": "card 4111 1111 1111 1111, phone +81 90-1234-5678",
            }
        )
        assert receive_json(ws)["code"] == "internal"
    logged = "\n".join(caplog.text.splitlines())
    assert "chat event failed" in logged
    assert welcome["conversation_id"] in logged
    for secret in ("aiko@example.com", "4111", "1234-5678"):
        assert secret not in logged
