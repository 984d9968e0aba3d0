"""Customers attach photos and PDFs in the chat (HTTP upload, delivered on the websocket):
the kind from the bytes, clear refusals that lose nothing, the bot handing a photo to a
person, and files that come back on reconnect."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from bot import messages
from tests.app import agents
from tests.app.agents import ALWAYS_OPEN, events_until, is_type, quiet
from tests.app.conftest import MakeClient, ask, on_both_databases, open_chat
from tests.attachments._files import HTML, PDF, image

seeded_data = agents.seeded_data
make_client = agents.make_client


def upload(
    client: TestClient,
    welcome: dict[str, Any],
    *files: tuple[str, bytes, str],
    client_id: str = "f1",
    text: str | None = None,
    token: str | None = None,
) -> Any:  # the test client's response
    """POST files as the widget does: multipart, the conversation's token in a header."""
    data = {"client_id": client_id, **({"text": text} if text is not None else {})}
    return client.post(
        f"/api/conversations/{welcome['conversation_id']}/attachments",
        headers={"X-Conversation-Token": token or welcome["token"]},
        files=[("file", f) for f in files],
        data=data,
    )


def message_with_files(ws: WebSocketTestSession) -> dict[str, Any]:
    events = events_until(ws, lambda e: e["type"] == "message" and bool(e.get("attachments")))
    return events[-1]


@on_both_databases
def test_a_customers_photo_is_stored_delivered_and_handed_to_a_person(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws, lang="en")
        ask(ws, "My parcel arrived and the vase inside is broken", "c1")
        photo = image("JPEG", (1200, 900))
        response = upload(client, welcome, ("broken vase.jpg", photo, "image/jpeg"))
        assert response.status_code == 201, response.text
        stored = response.json()
        [file] = stored["attachments"]
        assert file["name"] == "broken vase.jpg" and file["content_type"] == "image/jpeg"
        assert file["size"] == len(photo) and (file["width"], file["height"]) == (1200, 900)
        assert file["url"] == f"/api/attachments/{file['id']}"
        assert file["thumbnail_url"] == f"/api/attachments/{file['id']}/thumbnail"
        assert stored["role"] == "customer" and stored["text"] == "" and stored["client_id"] == "f1"

        # delivered live, like any message, then the bot's honest answer and the queue
        live = message_with_files(ws)
        assert live["seq"] == stored["seq"] and live["attachments"] == stored["attachments"]
        after = events_until(ws, is_type("state"))
        notice = next(e for e in after if e["type"] == "message" and e["role"] == "bot")
        assert notice["kind"] == "handoff"
        assert notice["text"].startswith(messages.text("attachment_handoff", "en"))
        assert after[-1]["state"] == "waiting" and after[-1]["reason"] == "customer_request"
        # no answer to the file itself: nothing more from the bot
        assert not [e for e in quiet(ws, 0.5) if e["type"] == "message"]

        # what the agent sees first
        cid = welcome["conversation_id"]
        assert client.portal is not None
        context = client.portal.call(agents.services(client).agents.context, cid)
        assert "sent a file for a person to look at" in " ".join(context["summary"])
        assert (
            context["summary"][0] == "Needs now: “My parcel arrived and the vase inside is broken”"
        )
        assert [a["name"] for a in context["attachments"]] == ["broken vase.jpg"]


def test_a_japanese_customer_is_answered_in_japanese(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws, lang="ja")
        response = upload(client, welcome, ("請求書.pdf", PDF, "application/pdf"))
        assert response.status_code == 201
        notice = events_until(ws, lambda e: e.get("role") == "bot")[-1]
        assert notice["text"].startswith(messages.text("attachment_handoff", "ja"))


def test_while_waiting_or_with_an_agent_a_file_only_joins_the_transcript(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _aiko, headers = agents.new_agent(client, "aiko", "Aiko")
    with agents.agent_socket(client, headers) as agent, client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        agents.escalate(ws)
        waiting = upload(client, welcome, ("receipt.png", image("PNG"), "image/png"))
        assert waiting.status_code == 201
        agents.claimed_by(agent, welcome["conversation_id"])
        label = upload(client, welcome, ("label.pdf", PDF, "application/pdf"), client_id="f2")
        assert label.status_code == 201
        seen = message_with_files(agent)  # the agent watching sees it live
        assert seen["attachments"][0]["name"] == "label.pdf"
        bot = [e for e in quiet(ws, 0.5) if e["type"] == "message" and e["role"] == "bot"]
        assert not bot, bot


def test_the_kind_comes_from_the_bytes_not_the_name_or_the_claimed_type(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        renamed = upload(client, welcome, ("scan.pdf", image("PNG"), "application/pdf"))
        assert renamed.status_code == 201
        [file] = renamed.json()["attachments"]
        assert (file["name"], file["content_type"]) == ("scan.png", "image/png")

        page = upload(client, welcome, ("photo.png", HTML, "image/png"), client_id="f2")
        assert page.status_code == 415
        assert page.json()["error"] == {
            "code": "unsupported_type",
            "message": "only PNG, JPEG, WebP, GIF or PDF files can be attached, "
            "and this file is not one of them",
        }


def test_refusals_are_clear_and_lose_nothing_and_keep_the_socket(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, attachment_max_bytes=20_000)
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        first = ask(ws, "How long does a refund take?", "c1")
        refusals = {
            "empty_file": upload(client, welcome, ("empty.png", b"", "image/png")),
            "file_too_large": upload(client, welcome, ("big.pdf", PDF + b"0" * 30_000, "x/y")),
            "damaged_file": upload(client, welcome, ("cut.png", image("PNG")[:300], "image/png")),
        }
        for code, response in refusals.items():
            assert response.json()["error"]["code"] == code, response.text
        assert refusals["empty_file"].status_code == 400
        assert refusals["file_too_large"].status_code == 413
        assert "at most 19.5 KB can be attached" in refusals["file_too_large"].text
        assert refusals["damaged_file"].status_code == 422
        none = client.post(
            f"/api/conversations/{welcome['conversation_id']}/attachments",
            headers={"X-Conversation-Token": welcome["token"]},
            data={"client_id": "f9"},
        )
        assert (none.status_code, none.json()["error"]["code"]) == (400, "no_file")

        # nothing was stored, the socket is open, the conversation goes on
        assert ask(ws, "And how do I return an item?", "c2")["role"] == "bot"
    with client.websocket_connect("/ws/chat") as again:
        _, replay = open_chat(again, token=welcome["token"])
    shown = [e for e in replay if e["type"] == "message"]
    assert shown[1]["seq"] == first["seq"] and not any(e["attachments"] for e in shown)


def test_a_resent_upload_is_stored_once_and_files_come_back_on_reconnect(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        first = upload(client, welcome, ("a.gif", image("GIF"), "image/gif"), text="look")
        again = upload(client, welcome, ("a.gif", image("GIF"), "image/gif"), text="look")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["seq"] == first.json()["seq"]
        seq = first.json()["seq"]
    with client.websocket_connect("/ws/chat") as later:
        _, replay = open_chat(later, token=welcome["token"], last_seq=seq - 1)
    replayed = next(e for e in replay if e["type"] == "message")
    assert replayed["seq"] == seq and replayed["text"] == "look"
    assert replayed["attachments"] == first.json()["attachments"]


def test_wrong_token_closed_chat_and_the_welcome_says_what_may_be_attached(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, attachment_types="image/png,image/jpeg")
    with client.websocket_connect("/ws/chat") as ws, client.websocket_connect("/ws/chat") as other:
        welcome, _ = open_chat(ws)
        assert welcome["attachments"] == {
            "max_bytes": 10 * 1024 * 1024,
            "types": ["image/png", "image/jpeg"],
            "max_files": 5,
        }
        theirs, _ = open_chat(other)
        stolen = upload(
            client, welcome, ("x.png", image("PNG"), "image/png"), token=theirs["token"]
        )
        assert stolen.status_code == 404
        pdf = upload(client, welcome, ("x.pdf", PDF, "application/pdf"))
        assert pdf.status_code == 415 and "only PNG or JPEG files" in pdf.text
        ws.send_json({"type": "end"})
        events_until(ws, lambda e: e["type"] == "state" and e["state"] == "closed")
        closed = upload(client, welcome, ("x.png", image("PNG"), "image/png"), client_id="f3")
        assert (closed.status_code, closed.json()["error"]["code"]) == (409, "conversation_closed")


def test_files_are_kept_in_the_configured_folder(make_client: MakeClient, tmp_path: Path) -> None:
    shared = tmp_path / "shared-attachments"
    client = make_client(business_hours=ALWAYS_OPEN, attachment_dir=shared)
    with client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        assert upload(client, welcome, ("label.pdf", PDF, "application/pdf")).status_code == 201
    digest = hashlib.sha256(PDF).hexdigest()
    assert (shared / digest[:2] / digest[2:4] / digest).read_bytes() == PDF
