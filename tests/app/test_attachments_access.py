"""Attached files are served to their conversation's customer and to staff only, as
files a browser never runs; agents attach files to their replies."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from accounts.users import Role
from tests.app import agents
from tests.app.agents import ALWAYS_OPEN, events_until
from tests.app.conftest import MakeClient, open_chat
from tests.app.test_attachments import message_with_files, upload
from tests.attachments._files import PDF, image

seeded_data = agents.seeded_data
make_client = agents.make_client
SHOP = "https://shop.example"


def csrf(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get("/agent", headers=headers)
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found is not None, page.text[:300]
    return found[1]


def test_only_the_conversation_and_staff_can_open_its_files(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _aiko, aiko = agents.new_agent(client, "aiko", "Aiko")
    agents.add_user(client, "ken", Role.EDITOR, "Ken")
    ken = agents.sign_in(client, "ken")
    with client.websocket_connect("/ws/chat") as ws, client.websocket_connect("/ws/chat") as other:
        welcome, _ = open_chat(ws)
        theirs, _ = open_chat(other)
        photo = image("PNG", (640, 480))
        sent = upload(client, welcome, ("破損した商品.png", photo, "image/png"))
        [file] = sent.json()["attachments"]

    mine = client.get(file["url"], headers={"X-Conversation-Token": welcome["token"]})
    assert mine.status_code == 200 and mine.content == photo
    assert mine.headers["content-type"] == "image/png"
    assert mine.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in mine.headers["content-security-policy"]
    assert "default-src 'none'" in mine.headers["content-security-policy"]
    assert mine.headers["content-disposition"] == (
        "inline; filename=\"attachment.png\"; filename*=UTF-8''" + quote("破損した商品.png")
    )
    thumbnail = client.get(
        file["thumbnail_url"], headers={"X-Conversation-Token": welcome["token"]}
    )
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"

    assert client.get(file["url"], headers=aiko).status_code == 200  # an agent
    for url in (file["url"], file["thumbnail_url"]):
        another = client.get(url, headers={"X-Conversation-Token": theirs["token"]})
        assert another.status_code == 404 and another.json()["error"]["code"] == "not_found"
        assert client.get(url, headers={"X-Conversation-Token": "guess"}).status_code == 404
        anonymous = client.get(url)
        assert anonymous.status_code == 401 and photo not in anonymous.content
        assert client.get(url, headers=ken).status_code == 403  # an editor is not staff here
    assert client.get("/api/attachments/" + "0" * 32, headers=aiko).status_code == 404


def test_an_agent_attaches_a_pdf_to_a_reply_and_the_customer_gets_it(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _aiko, aiko = agents.new_agent(client, "aiko", "Aiko")
    _ken, ken = agents.new_agent(client, "ken", "Ken")
    with agents.agent_socket(client, aiko) as agent, client.websocket_connect("/ws/chat") as ws:
        welcome, _ = open_chat(ws)
        cid = welcome["conversation_id"]
        url = f"/api/conversations/{cid}/attachments"
        agents.escalate(ws)
        label = [("file", ("返品ラベル.pdf", PDF, "application/pdf"))]
        form = {"client_id": "a1", "text": "Here is your return label."}

        unclaimed = client.post(
            url, headers={**aiko, "X-CSRF-Token": csrf(client, aiko)}, files=label, data=form
        )
        assert (unclaimed.status_code, unclaimed.json()["error"]["code"]) == (409, "not_claimed")
        agents.claimed_by(agent, cid)
        no_csrf = client.post(url, headers=aiko, files=label, data=form)
        assert no_csrf.status_code == 403
        not_hers = client.post(
            url, headers={**ken, "X-CSRF-Token": csrf(client, ken)}, files=label, data=form
        )
        assert (not_hers.status_code, not_hers.json()["error"]["code"]) == (403, "not_owner")

        sent = client.post(
            url, headers={**aiko, "X-CSRF-Token": csrf(client, aiko)}, files=label, data=form
        )
        assert sent.status_code == 201, sent.text
        reply = message_with_files(ws)
        assert reply["role"] == "agent" and reply["author"] == "Aiko"
        assert reply["text"] == "Here is your return label."
        [file] = reply["attachments"]
        assert file["thumbnail_url"] is None and file["content_type"] == "application/pdf"
        pdf = client.get(file["url"], headers={"X-Conversation-Token": welcome["token"]})
        assert pdf.status_code == 200 and pdf.content == PDF
        disposition = pdf.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="attachment.pdf"')
        assert disposition.endswith("filename*=UTF-8''" + quote("返品ラベル.pdf"))
        # the agent watching sees it live too
        seen = events_until(agent, lambda e: e["type"] == "message" and bool(e.get("attachments")))
        assert seen[-1]["attachments"][0]["name"] == "返品ラベル.pdf"


def test_the_widget_on_an_allowed_shop_may_call_the_routes_others_may_not(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN, allowed_origins=[SHOP])
    with client.websocket_connect("/ws/chat", headers={"origin": SHOP}) as ws:
        welcome, _ = open_chat(ws)
    url = f"/api/conversations/{welcome['conversation_id']}/attachments"
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-conversation-token",
    }
    allowed = client.options(url, headers={"Origin": SHOP, **ask})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert "X-Conversation-Token" in allowed.headers["access-control-allow-headers"]
    stranger = client.options(url, headers={"Origin": "https://evil.example", **ask})
    assert "access-control-allow-origin" not in stranger.headers

    # a refusal is readable by the shop's page too (the widget shows it)
    refused = client.post(
        url,
        headers={"Origin": SHOP, "X-Conversation-Token": welcome["token"]},
        files=[("file", ("a.txt", b"hello", "text/plain"))],
        data={"client_id": "x"},
    )
    assert refused.status_code == 415
    assert refused.headers["access-control-allow-origin"] == SHOP
