"""`kakehashi serve`'s HTTP limits on a real uvicorn server (loopback, a tiny ASGI app):
a client sending its request slowly is cut off; a quick one is served, and a websocket
lives past the request deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from websockets.sync.client import connect

from app.server import BODY_BYTES_PER_DEADLINE, uvicorn_options
from app.settings import Settings


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":  # an echo
        while (message := await receive())["type"] != "websocket.disconnect":
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            else:
                await send({"type": "websocket.send", "text": message.get("text")})
        return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):  # read the whole body first, as routes do
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def server() -> Iterator[int]:
    settings = Settings(_env_file=None, http_request_seconds=0.5)  # type: ignore[call-arg]
    options = uvicorn_options(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        hello_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    instance.should_exit = True
    thread.join(10)


def closed_within(conn: socket.socket, seconds: float) -> bool:
    conn.settimeout(seconds)
    try:
        return conn.recv(1024) == b""
    except (TimeoutError, ConnectionResetError):
        return False


def test_half_sent_headers_are_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        assert closed_within(slow, 5)
        assert time.monotonic() - started < 3


def test_a_connection_that_sends_nothing_is_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as silent:
        assert closed_within(silent, 5)


def test_a_slow_body_is_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as slow:
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        assert closed_within(slow, 5)


def test_an_upload_that_keeps_coming_on_a_slow_line_is_answered(server: int) -> None:
    chunk = b"x" * BODY_BYTES_PER_DEADLINE
    with socket.create_connection(("127.0.0.1", server)) as upload:
        upload.sendall(
            f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {4 * len(chunk)}\r\n\r\n".encode()
        )
        for _ in range(4):  # 1.2 s in all: longer than the 0.5 s deadline, but never idle
            time.sleep(0.3)
            upload.sendall(chunk)
        upload.settimeout(5)
        assert upload.recv(1024).startswith(b"HTTP/1.1 200")


def test_a_whole_request_is_answered(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as quick:
        quick.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        quick.settimeout(5)
        assert quick.recv(1024).startswith(b"HTTP/1.1 200")


def test_a_websocket_outlives_the_request_deadline(server: int) -> None:
    """The deadline is for sending a request; a chat's websocket stays open (it was cut
    off after `http_request_seconds`, 20 s by default, with no close frame)."""
    with connect(f"ws://127.0.0.1:{server}/ws", open_timeout=5, ping_interval=None) as ws:
        time.sleep(1.5)  # three deadlines
        ws.send("still there?")
        assert ws.recv(timeout=5) == "still there?"


def test_websocket_frames_are_not_compressed(server: int) -> None:
    """A client offering permessage-deflate (browsers do) gets plain frames: a chat frame
    is a few hundred bytes, and deflating each one cost the server CPU under load."""
    with connect(f"ws://127.0.0.1:{server}/ws", open_timeout=5) as ws:
        assert ws.request is not None and ws.response is not None
        assert "permessage-deflate" in ws.request.headers.get("Sec-WebSocket-Extensions", "")
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        ws.send("こんにちは " * 50)
        assert ws.recv(timeout=5) == "こんにちは " * 50
