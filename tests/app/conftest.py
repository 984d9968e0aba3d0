"""Factories for the web application under test (fake embeddings, real SQLite).

A test decorated with `on_both_databases` runs twice: on SQLite, and (marked `postgres`) on
a fresh database of the session's PostgreSQL server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from app.main import create_app
from app.services import Services
from app.settings import Settings
from tests.conftest import SAMPLE_KB, CountingEmbedding

MakeClient = Callable[..., TestClient]

_ON_POSTGRES = pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)
on_both_databases = pytest.mark.parametrize(
    "database_url", [pytest.param("sqlite", id="sqlite"), _ON_POSTGRES], indirect=True
)
on_postgres = pytest.mark.parametrize("database_url", [_ON_POSTGRES], indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The apps' database: None (SQLite in the data folder) unless parametrised "postgres"."""
    if getattr(request, "param", "sqlite") == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return None


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str | None) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "kb_dir": SAMPLE_KB,
            # Fake vectors are noise: let lexical search decide, in both languages.
            "embedding_languages": [],
            **overrides,
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[MakeClient]:
    """make_client(**settings) -> a started TestClient (lifespan run)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(make_settings(**overrides), embeddings=CountingEmbedding(size=16))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    failed: list[str] = []
    for client in clients:
        with collected_logs("delivery.tasks", logging.ERROR) as records:
            client.__exit__(None, None, None)
        # the shutdown's own errors (a step that failed), not a background job's
        failed.extend(m for r in records if (m := r.getMessage()).startswith("shutdown:"))
    assert not failed, f"a shutdown step failed: {failed}"


@contextmanager
def collected_logs(logger: str, level: int) -> Iterator[list[logging.LogRecord]]:
    """The records of `logger` at `level` or above logged inside the block."""
    handler = _Collect(level)
    target = logging.getLogger(logger)
    target.addHandler(handler)
    try:
        yield handler.records
    finally:
        target.removeHandler(handler)


class _Collect(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


def services(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined]


def settle(client: TestClient) -> None:
    """Wait until every bot reply under way has been stored and delivered."""
    assert client.portal is not None
    client.portal.call(services(client).conversations.drain)


def receive_message(ws: WebSocketTestSession, timeout: float) -> Any:
    """The next ASGI message the server sent; a failure (never a hang) when none comes
    within `timeout` seconds, or the connection ends without a close frame."""

    async def receive() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    try:
        return ws.portal.call(receive)
    except TimeoutError:
        raise AssertionError(f"no event within {timeout} s") from None
    except (anyio.ClosedResourceError, anyio.EndOfStream):
        raise AssertionError("the server ended the connection") from None


def receive_json(ws: WebSocketTestSession, timeout: float = 10.0) -> Any:
    """`ws.receive_json()` that fails, instead of waiting forever, when nothing comes.

    Raises:
        WebSocketDisconnect: the server closed the socket (as `receive_json` does).
        AssertionError: no event within `timeout` seconds.
    """
    message = receive_message(ws, timeout)
    ws._raise_on_close(message)
    return json.loads(message["text"])


def receive_until(
    ws: WebSocketTestSession, predicate: Callable[[dict[str, Any]], bool], limit: int = 20
) -> list[dict[str, Any]]:
    """Events up to and including the first that matches `predicate`."""
    events = []
    for _ in range(limit):
        event = receive_json(ws)
        events.append(event)
        if predicate(event):
            return events
    raise AssertionError(f"no matching event in {events}")


def open_chat(
    ws: WebSocketTestSession, token: str | None = None, last_seq: int = 0, lang: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send hello; returns the welcome and the replayed events up to the state event."""
    ws.send_json({"type": "hello", "token": token, "last_seq": last_seq, "lang": lang})
    welcome = receive_json(ws)
    assert welcome["type"] == "welcome", welcome
    replay = receive_until(ws, lambda e: e["type"] == "state")
    return welcome, replay


def ask(ws: WebSocketTestSession, text: str, client_id: str) -> dict[str, Any]:
    """Send a message and return the bot's reply (after the echo and typing events)."""
    ws.send_json({"type": "message", "client_id": client_id, "text": text})
    events = receive_until(ws, lambda e: e["type"] == "message" and e["role"] == "bot")
    return events[-1]
