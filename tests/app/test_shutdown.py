"""Stopping a server: it ends even when one of its shutdown steps never does."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from tests.app import agents
from tests.app.agents import ALWAYS_OPEN, agent_socket, escalate, new_agent
from tests.app.conftest import MakeClient, ask, open_chat, services

# the apps these tests run (pytest finds fixtures by name in the module)
seeded_data = agents.seeded_data
make_client = agents.make_client


def test_a_server_stops_when_a_shutdown_step_never_ends(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(shutdown_step_seconds=0.5)
    with client.websocket_connect("/ws/chat") as customer:
        open_chat(customer)
        assert ask(customer, "How do I return an item?", "q1")["role"] == "bot"

    async def never_ends() -> None:  # a driver's thread that never answers, say
        await asyncio.Event().wait()

    services(client).conversations.drain = never_ends  # type: ignore[method-assign]
    pool = services(client).engine.pool
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="delivery.tasks"):
        client.__exit__(None, None, None)
    assert time.monotonic() - started < 5, "the shutdown waited for the stuck step"
    warnings = [r.getMessage() for r in caplog.records if r.name == "delivery.tasks"]
    # the steps after it ran: the database connections were closed
    assert services(client).engine.pool is not pool
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "shutdown: the bot replies under way did not end within 0.5 s; left behind"
    )
    assert "in never_ends" in warnings[0], "the log says where it waited"


def test_a_console_closed_while_its_queue_update_is_read_lets_the_read_finish(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko")
    desk = services(client).agents
    read = desk.snapshot
    reading, finished = threading.Event(), threading.Event()

    async def slow_snapshot(user_id: int) -> dict[str, Any]:
        reading.set()
        await asyncio.sleep(0.5)  # a slow database read, under way when the console closes
        snapshot = await read(user_id)
        finished.set()
        return snapshot

    with client.websocket_connect("/ws/chat") as customer:
        open_chat(customer)
        with agent_socket(client, headers):
            desk.snapshot = slow_snapshot  # type: ignore[method-assign]
            escalate(customer)  # the queue changes: the console reads its update
            assert reading.wait(5)
        # the console's close waited for the read in hand instead of cutting it off
        assert finished.is_set()
    with caplog.at_level(logging.WARNING):
        client.__exit__(None, None, None)
    shutdown = [r.getMessage() for r in caplog.records if "shutdown:" in r.getMessage()]
    assert shutdown == [], "every part stopped its own work in time, nothing was left over"
