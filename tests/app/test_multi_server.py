"""Several servers: two real `kakehashi serve` processes on one PostgreSQL and one Redis.

A customer on one server and an agent on the other talk live; an article published
through one server is answered from by the other; a server killed with kill -9 while
questions wait for the bot loses none of them; a Redis restart is survived.
"""

from __future__ import annotations

import contextlib
import json
import time
from contextlib import ExitStack

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests._redis import RedisServer
from tests.app._cluster import (
    Cluster,
    Event,
    agent,
    cluster,
    customer,
    is_message,
    receive_until,
    reconnect,
    seeded_index,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.model]
__all__ = ["cluster", "seeded_index"]  # the fixtures


def test_a_customer_on_one_server_and_an_agent_on_the_other_talk_live(cluster: Cluster) -> None:
    with ExitStack() as stack:
        console = agent(stack, cluster.b, cluster.agent_password)
        chat, welcome = customer(stack, cluster.a)
        cid = welcome["conversation_id"]
        chat.send(
            json.dumps(
                {"type": "message", "client_id": "c1", "text": "Can I talk to a human please?"}
            )
        )
        receive_until(chat, lambda e: e["type"] == "state" and e["state"] == "waiting")
        receive_until(
            console,
            lambda e: (
                e["type"] == "queue" and any(w["conversation_id"] == cid for w in e["waiting"])
            ),
        )
        console.send(json.dumps({"type": "claim", "conversation_id": cid}))
        receive_until(
            console, lambda e: e["type"] == "conversation" and e["conversation_id"] == cid
        )
        receive_until(chat, lambda e: e["type"] == "state" and e["state"] == "agent")
        console.send(
            json.dumps(
                {
                    "type": "message",
                    "conversation_id": cid,
                    "client_id": "a1",
                    "text": "Hi, Aiko here.",
                }
            )
        )
        receive_until(chat, is_message("agent", "Aiko here"))
        chat.send(json.dumps({"type": "message", "client_id": "c2", "text": "My parcel is late"}))
        receive_until(console, is_message("customer", "parcel is late"))
        chat.close()
        console.close()


def test_through_nginx_customers_on_either_server_are_answered_and_reach_agents(
    cluster: Cluster,
) -> None:
    with ExitStack() as stack:
        """nginx spreads connections over both servers; every one works, websockets included."""
        console = agent(stack, cluster.b, cluster.agent_password)
        chats = [customer(stack, cluster.nginx) for _ in range(4)]  # round robin: both servers
        for n, (chat, _) in enumerate(chats):
            chat.send(
                json.dumps(
                    {"type": "message", "client_id": f"c{n}", "text": "How do I return an item?"}
                )
            )
        for chat, _ in chats:
            answer = receive_until(chat, is_message("bot"))[-1]
            assert answer["citations"], answer
        chat, welcome = chats[0]
        chat.send(json.dumps({"type": "handoff_request"}))
        receive_until(
            console,
            lambda e: (
                e["type"] == "queue"
                and any(w["conversation_id"] == welcome["conversation_id"] for w in e["waiting"])
            ),
        )
        for chat, _ in chats:
            chat.close()
        console.close()
        time.sleep(0.5)  # nginx logs a websocket when it closes
        access = (cluster.nginx.root / "access.log").read_text()
        assert access.count("GET /ws/chat") >= 4


def test_an_article_published_through_one_server_is_answered_from_by_the_other(
    cluster: Cluster,
) -> None:
    with ExitStack() as stack:
        printed = cluster.a.cli("user", "create", "kei", "--role", "editor", "--generate")
        headers = cluster.a.sign_in("kei", printed.rsplit("Password: ", 1)[1].strip(), "/editor")
        body = "## Loyalty owls\n\nEvery order earns one origami owl; ten owls buy a free tote bag."
        with httpx.Client(base_url=cluster.a.base, headers=headers) as client:
            created = client.post(
                "/api/articles",
                json={"id": "origami-owls", "title": "Origami owls", "lang": "en", "body": body},
            )
            assert created.status_code == 201, created.text
            assert client.post("/api/articles/origami-owls/publish").status_code == 200
        published = time.monotonic()
        chat, _ = customer(stack, cluster.b)
        answer: Event | None = None
        for n in range(20):
            chat.send(
                json.dumps(
                    {"type": "message", "client_id": f"q{n}", "text": "what do origami owls buy"}
                )
            )
            reply = receive_until(chat, is_message("bot"))[-1]
            if any(c["article_id"] == "origami-owls" for c in reply["citations"]):
                answer = reply
                break
            time.sleep(0.2)
        assert answer is not None, "server B never answered from the article published on A"
        assert time.monotonic() - published < 2.0 + 1.0  # within 2 s, plus one answer's time
        chat.close()


def test_a_server_killed_mid_reply_loses_no_question(cluster: Cluster) -> None:
    with ExitStack() as stack:
        chat, welcome = customer(stack, cluster.a)
        questions = [
            "How do I return an item?",
            "When will I get my refund?",
            "How do I reset my password?",
            "Can I change my delivery address?",
            "How do I track my parcel?",
        ]
        for n, text in enumerate(questions):
            chat.send(json.dumps({"type": "message", "client_id": f"c{n}", "text": text}))
        asked: list[int] = []
        while len(asked) < len(questions):  # every question stored and acknowledged
            event = json.loads(chat.recv(timeout=20))
            if event["type"] == "message" and event["role"] == "customer":
                asked.append(event["seq"])
        cluster.a.kill()
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            chat.recv(timeout=5)
        pending = _pending_replies(cluster.database_url)
        cluster.a.start()  # answers what it left pending
        chat, _ = customer(stack, cluster.a, welcome["token"], 0)
        seen = receive_until(chat, lambda e: e["type"] == "state", timeout=30)
        deadline = time.monotonic() + 30
        answers = {e["seq"]: e for e in seen if e["type"] == "message" and e["role"] == "bot"}
        drops = 0
        while len(answers) < len(questions) and time.monotonic() < deadline:
            try:
                event = json.loads(chat.recv(timeout=1))
            except TimeoutError:
                continue
            except ConnectionClosed as closed:  # resumed as the widget would, replayed
                drops += 1
                print(f"dropped: {closed!r}; the server's log:\n{cluster.a.log()}")
                assert drops <= 1 and cluster.a.process is not None, cluster.a.log()
                assert cluster.a.process.poll() is None, f"a died:\n{cluster.a.log()}"
                chat = reconnect(stack, cluster.a, welcome["token"])
                continue
            if event["type"] == "message" and event["role"] == "bot":
                answers[event["seq"]] = event
        print(f"questions pending when the server was killed: {pending} of {len(questions)}")
        assert len(answers) == len(questions), (
            f"{len(answers)} answers to {len(questions)} questions"
        )
        time.sleep(1)  # nothing answered twice, even late
        stored = _bot_replies(cluster.database_url, welcome["conversation_id"])
        assert sorted(stored) == sorted(asked), f"replies to {stored}, questions {asked}"
        chat.close()


def test_a_redis_restart_is_survived_without_restarting_a_server(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    with ExitStack() as stack:
        console = agent(stack, cluster.b, cluster.agent_password)
        chat, welcome = customer(stack, cluster.a)
        cid = welcome["conversation_id"]
        chat.send(
            json.dumps(
                {"type": "message", "client_id": "c1", "text": "I want to speak to a person"}
            )
        )
        receive_until(chat, lambda e: e["type"] == "state" and e["state"] == "waiting")
        console.send(json.dumps({"type": "claim", "conversation_id": cid}))
        receive_until(console, lambda e: e["type"] == "conversation")
        redis_server.stop()
        time.sleep(1)
        redis_server.start()
        # the servers tell their sockets to reconnect; clients resume from their last seq
        for ws in (chat, console):
            try:
                while True:
                    ws.recv(timeout=10)
            except (ConnectionClosed, TimeoutError):
                pass
        chat = reconnect(stack, cluster.a, welcome["token"])
        console = agent(stack, cluster.b, cluster.agent_password)
        console.send(json.dumps({"type": "open", "conversation_id": cid}))
        receive_until(console, lambda e: e["type"] == "conversation")
        deadline = time.monotonic() + 20
        while True:  # live delivery across servers resumes once the hubs have resubscribed
            console.send(
                json.dumps(
                    {
                        "type": "message",
                        "conversation_id": cid,
                        "client_id": f"a{time.monotonic()}",
                        "text": "Still there?",
                    }
                )
            )
            try:
                receive_until(chat, is_message("agent", "Still there"), timeout=2)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        chat.close()
        console.close()


def _pending_replies(url: str) -> int:
    import asyncio

    async def count() -> int:
        connection = await asyncpg.connect(url)
        try:
            return int(
                await connection.fetchval("SELECT count(*) FROM messages WHERE reply_pending")
            )
        finally:
            await connection.close()

    return asyncio.run(count())


def _bot_replies(url: str, public_id: str) -> list[int]:
    """The customer seq each stored bot reply answers."""
    import asyncio

    async def replies() -> list[int]:
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(
                "SELECT m.meta FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE c.public_id = $1 AND m.role = 'bot'",
                public_id,
            )
        finally:
            await connection.close()
        return [json.loads(r["meta"])["reply_to"] for r in rows]

    return asyncio.run(replies())
