"""The link in a mail to an offline chat customer (`/?resume=<mail token>`) reopens that
chat: the widget's hello carries it, and the server answers with the conversation, its whole
history and a fresh chat token."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from storage.models import Conversation
from tests.app.conftest import ask, open_chat, receive_until, services


def hello(ws: Any, **fields: Any) -> list[dict[str, Any]]:
    ws.send_json({"type": "hello", "token": None, "last_seq": 0, "lang": "en", **fields})
    return receive_until(ws, lambda e: e["type"] in ("state", "error"))


def give_mail_token(client: TestClient, public_id: str, mail_token: str) -> None:
    async def set_token() -> None:  # what the outbox does with a chat's first mail
        async with services(client).sessions.begin() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.public_id == public_id)
                .values(mail_token=mail_token)
            )

    assert client.portal is not None
    client.portal.call(set_token)


def test_the_mail_link_reopens_the_chat_with_its_history_and_a_fresh_token(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        ask(ws, "How do I return an item?", "c1")
    give_mail_token(client, welcome["conversation_id"], "mt-0123456789abcdef")

    # another browser (the customer's phone, from the mail), with a chat of its own
    with client.websocket_connect("/ws/chat") as ws:
        other, _ = open_chat(ws)
    with client.websocket_connect("/ws/chat") as ws:
        events = hello(ws, token=other["token"], last_seq=5, resume="mt-0123456789abcdef")
        reopened = events[0]
        assert reopened["type"] == "welcome"
        assert reopened["conversation_id"] == welcome["conversation_id"]  # not its own chat
        assert reopened["token"] not in (welcome["token"], other["token"])
        texts = [e["text"] for e in events if e["type"] == "message"]
        assert texts[0] == "How do I return an item?"  # the whole history, from seq 1
        assert len(texts) == 2

    # the fresh token is the conversation's now; the old one no longer opens it
    with client.websocket_connect("/ws/chat") as ws:
        again, _ = open_chat(ws, token=reopened["token"])
        assert again["conversation_id"] == welcome["conversation_id"]
    with client.websocket_connect("/ws/chat") as ws:
        assert hello(ws, token=welcome["token"])[-1]["code"] == "invalid_token"


def test_a_link_that_names_no_conversation_is_refused_and_the_socket_stays_open(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        assert hello(ws, resume="no-such-token")[-1]["code"] == "invalid_token"
        assert hello(ws, resume=7)[-1]["code"] == "invalid_field"
        welcome, _ = open_chat(ws)  # a hello without it starts a chat as usual
        assert welcome["token"]
