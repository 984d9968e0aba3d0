"""What operators and attackers see: health and readiness, /metrics and who may read it,
security headers on pages, and canned responses scoped to the agent's team."""

from __future__ import annotations

import re

from sqlalchemy import update

from accounts.users import Role
from conversations.timing import STEPS
from storage.models import User
from tests.app import agents
from tests.app.agents import add_user, sign_in
from tests.app.conftest import MakeClient, ask, open_chat, receive_json, services, settle

seeded_data = agents.seeded_data
make_client = agents.make_client


def test_health_and_readiness(make_client: MakeClient) -> None:
    client = make_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok" and ready.json()["checks"]["index"] == "ok"
    assert "redis" not in ready.json()["checks"]  # not configured


def test_readiness_fails_when_the_database_does_not_answer(make_client: MakeClient) -> None:
    client = make_client()
    assert client.portal is not None
    client.portal.call(services(client).engine.dispose)
    database = services(client).settings.data_dir / "kakehashi.db"
    database.unlink()
    database.mkdir()  # a database file that is a folder cannot be opened
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("failed")
    assert client.get("/healthz").status_code == 200  # alive all the same


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, flags=re.M)
    assert match, f"{name} not in metrics"
    return float(match[1])


def test_metrics_count_what_happened(make_client: MakeClient) -> None:
    client = make_client(metrics_allowed_ips=["testclient"], chat_messages_per_token="3/minute")
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ask(ws, "How do I return an item?", "c1")
        settle(client)
        during = client.get("/metrics").text
        assert metric(during, 'kakehashi_open_websockets{socket="chat"}') == 1
        ws.send_json({"type": "message", "client_id": "c2", "text": "a person please"})
        ws.send_json({"type": "message", "client_id": "c3", "text": "hello?"})
        ws.send_json({"type": "message", "client_id": "c4", "text": "hello??"})
        while receive_json(ws).get("code") != "rate_limited":
            pass
        settle(client)
    text = client.get("/metrics").text
    assert metric(text, 'kakehashi_messages_total{role="customer"}') >= 3
    assert metric(text, 'kakehashi_messages_total{role="bot"}') >= 1
    assert (
        sum(
            float(v) for v in re.findall(r"^kakehashi_bot_decisions_total\{.*\} (\S+)$", text, re.M)
        )
        >= 1
    )
    assert metric(text, "kakehashi_reply_latency_seconds_count") >= 1
    # where a reply's time went, step by step, for the one answered above
    steps = dict(
        re.findall(r'^kakehashi_reply_step_seconds_count\{step="(\w+)"\} (\S+)$', text, re.M)
    )
    assert list(steps) == list(STEPS) and all(float(n) >= 1 for n in steps.values())
    assert metric(text, "kakehashi_reply_models_seconds_count") >= 1
    assert metric(text, 'kakehashi_rate_limited_total{limit="messages_per_token"}') == 1
    assert metric(text, 'kakehashi_open_websockets{socket="chat"}') == 0
    assert metric(text, "kakehashi_queue_waiting") == 1  # "a person please" queued it
    assert metric(text, 'kakehashi_handoffs_total{reason="customer_request"}') == 1
    assert metric(text, "kakehashi_queue_oldest_wait_seconds") >= 0


def test_metrics_show_how_long_sqlite_writes_held_the_writers_turn(
    make_client: MakeClient,
) -> None:
    """The one place a SQLite server writes one transaction at a time: an operator sees how
    much of each second it is held (near all of it, the server has reached its rate)."""
    client = make_client(metrics_allowed_ips=["testclient"])
    before = client.get("/metrics").text
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        ask(ws, "How do I return an item?", "c1")
        settle(client)
    after = client.get("/metrics").text
    turns = "kakehashi_sqlite_write_turns_total"
    # at least the conversation, the message and the bot's reply
    assert metric(after, turns) - metric(before, turns) >= 3
    held = "kakehashi_sqlite_write_hold_seconds_total"
    assert metric(after, held) > metric(before, held)
    assert metric(after, "kakehashi_sqlite_write_wait_seconds_total") >= 0


def test_metrics_are_refused_to_strangers_and_served_with_the_token(
    make_client: MakeClient,
) -> None:
    client = make_client(metrics_token="s3cret-token")
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    good = client.get("/metrics", headers={"authorization": "Bearer s3cret-token"})
    assert good.status_code == 200 and "kakehashi_queue_waiting" in good.text
    add_user(client, "aiko", Role.AGENT)
    assert client.get("/metrics", headers=sign_in(client, "aiko")).status_code == 403


def test_pages_carry_security_headers_and_staff_pages_cannot_be_framed(
    make_client: MakeClient,
) -> None:
    client = make_client()
    login = client.get("/login")
    csp = login.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp and login.headers["x-frame-options"] == "DENY"
    assert login.headers["x-content-type-options"] == "nosniff"
    assert login.headers["referrer-policy"]
    add_user(client, "aiko", Role.AGENT)
    console = client.get("/agent", headers=sign_in(client, "aiko"))
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]
    demo = client.get("/")
    assert "script-src 'self'" in demo.headers["content-security-policy"]
    assert "<script>" not in demo.text  # no inline script left on our pages
    # the widget's files load on shops' pages, under the shop's own policy
    widget = client.get("/static/widget/main.js")
    assert widget.headers["access-control-allow-origin"] == "*"
    assert "content-security-policy" not in widget.headers
    assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"


def test_an_agent_changes_only_their_own_teams_canned_responses(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "aiko", Role.AGENT)
    add_user(client, "ken", Role.AGENT)
    add_user(client, "boss", Role.ADMIN)

    async def move_ken() -> None:
        async with services(client).sessions.begin() as session:
            await session.execute(update(User).where(User.username == "ken").values(team="billing"))

    assert client.portal is not None
    client.portal.call(move_ken)

    def as_(name: str) -> dict[str, str]:
        headers = sign_in(client, name)
        page = client.get("/agent/canned", headers=headers)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        return {**headers, "x-csrf-token": token[1]}

    aiko, ken, boss = as_("aiko"), as_("ken"), as_("boss")
    body = {"title": "Hi", "text": "Hello!", "team": "support"}
    mine = client.post("/api/canned", json=body, headers=aiko).json()
    # ken (billing) can neither edit, move nor delete support's response
    edit = {**body, "text": "Hacked", "team": "billing"}
    assert client.put(f"/api/canned/{mine['id']}", json=edit, headers=ken).status_code == 404
    assert client.delete(f"/api/canned/{mine['id']}", headers=ken).status_code == 404
    # and a response ken creates lands in his own team whatever he asks for
    own = client.post("/api/canned", json={**body, "title": "Mine"}, headers=ken).json()
    assert own["team"] == "billing"
    # aiko edits her team's response; asking to move it does not move it
    moved = client.put(f"/api/canned/{mine['id']}", json=edit, headers=aiko).json()
    assert moved["text"] == "Hacked" and moved["team"] == "support"
    # an admin may move and delete any
    assert (
        client.put(f"/api/canned/{mine['id']}", json=edit, headers=boss).json()["team"] == "billing"
    )
    assert client.delete(f"/api/canned/{own['id']}", headers=boss).status_code == 204
    assert [c["title"] for c in client.get("/api/canned", headers=aiko).json()] == []
