"""Two real `kakehashi serve` processes on one PostgreSQL and one Redis, nginx in front,
and what tests do with them as customers and agents (tests/app/test_multi_server.py,
tests/app/test_faults.py)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests._postgres import PostgresServer
from tests._redis import RedisServer
from tests.app._servers import Nginx, Server
from tests.conftest import SAMPLE_KB

__all__ = ["cluster", "seeded_index"]  # the fixtures

Event = dict[str, Any]


@dataclass
class Cluster:
    a: Server
    b: Server
    nginx: Nginx
    database_url: str
    agent_password: str


@pytest.fixture(scope="session")
def seeded_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose index of the sample KB is built once (each server copies it)."""
    data = tmp_path_factory.mktemp("seeded")
    Server("seed", {"KAKEHASHI_KB_DIR": str(SAMPLE_KB)}, data).cli("index")
    return data


@pytest.fixture(scope="session")
def cluster(
    postgres: PostgresServer,
    redis_server: RedisServer,
    seeded_index: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    """Two servers on one PostgreSQL database and one Redis, nginx in front (one set for
    the session: each test starts conversations of its own)."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: `make nginx` installs Debian's nginx")
    database = postgres.create_database()
    redis_server.start_if_stopped()
    root = tmp_path_factory.mktemp("cluster")
    env = {
        "HF_HUB_OFFLINE": "1",
        "KAKEHASHI_DATABASE_URL": postgres.url(database),
        "KAKEHASHI_REDIS_URL": redis_server.url,
        "KAKEHASHI_KB_DIR": str(SAMPLE_KB),
        "KAKEHASHI_BUSINESS_HOURS": "mon-sun 00:00-24:00",
    }
    servers = []
    for name in ("a", "b"):
        shutil.copytree(seeded_index, root / name)
        servers.append(Server(name, env, root / name))
    a, b = servers
    created = a.cli("user", "create", "aiko", "--role", "agent", "--name", "Aiko", "--generate")
    password = created.rsplit("Password: ", 1)[1].strip()
    nginx = Nginx(root / "nginx", [a.port, b.port])
    try:
        a.start()  # the first start migrates and imports the KB; the second finds them
        b.start()
        nginx.start()
        yield Cluster(a, b, nginx, postgres.url(database, driver="postgresql"), password)
    finally:
        nginx.stop()
        a.stop()
        b.stop()
        postgres.drop_database(database)


def receive_until(
    ws: ClientConnection, wanted: Callable[[Event], bool], timeout: float = 20
) -> list[Event]:
    """Frames up to and including the first one `wanted` accepts."""
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = json.loads(ws.recv(timeout=max(0.05, deadline - time.monotonic())))
        except TimeoutError:
            break
        seen.append(event)
        if wanted(event):
            return seen
    raise AssertionError(f"not seen within {timeout} s; got {[e.get('type') for e in seen]}")


def customer(
    stack: ExitStack,
    server: Server | Nginx,
    token: str | None = None,
    last_seq: int = 0,
    address: str | None = None,
) -> tuple[ClientConnection, Event]:
    """A customer's websocket with `hello` answered; from loopback `address` when given
    (127.0.0.2, … : each its own client address to the server's limits)."""
    source: dict[str, Any] = {"source_address": (address, 0)} if address else {}
    ws = stack.enter_context(connect(f"{server.ws}/ws/chat", open_timeout=10, **source))
    ws.send(json.dumps({"type": "hello", "lang": "en", "token": token, "last_seq": last_seq}))
    welcome = receive_until(ws, lambda e: e["type"] == "welcome")[-1]
    return ws, welcome


def reconnect(
    stack: ExitStack, server: Server, token: str, seconds: float = 20
) -> ClientConnection:
    """Resume a conversation as the widget does: try again, with a pause, until it works."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return customer(stack, server, token, 0)[0]
        except (ConnectionClosed, OSError, AssertionError):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"could not resume on {server.name}:\n{server.log()}"
                ) from None
            time.sleep(0.5)


def agent(stack: ExitStack, server: Server, password: str) -> ClientConnection:
    headers = server.sign_in("aiko", password)
    ws = stack.enter_context(
        connect(
            f"{server.ws}/ws/agent",
            additional_headers={"cookie": headers["cookie"]},
            open_timeout=10,
        )
    )
    receive_until(ws, lambda e: e["type"] == "queue")
    return ws


def is_message(role: str, text: str | None = None) -> Callable[[Event], bool]:
    return lambda e: (
        e["type"] == "message" and e["role"] == role and (text is None or text in e["text"])
    )
