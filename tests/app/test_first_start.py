"""A server's first start: the knowledge base is imported and indexed once, in a child
process, so that the server holds what a restart would; then it answers from that index."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from eval._server import Server
from tests.conftest import SAMPLE_KB

pytestmark = pytest.mark.model


async def _answer(ws_base: str, text: str) -> dict[str, Any]:
    async with connect(f"{ws_base}/ws/chat", proxy=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": None, "last_seq": 0, "lang": "en"}))
        await ws.send(json.dumps({"type": "message", "client_id": "q1", "text": text}))
        async with asyncio.timeout(60):
            while True:
                event = json.loads(await ws.recv())
                if event.get("type") == "message" and event.get("role") == "bot":
                    return dict(event)


def test_a_first_start_indexes_in_a_child_and_a_restart_embeds_nothing(tmp_path: Path) -> None:
    server = Server("first", {"KAKEHASHI_KB_DIR": str(SAMPLE_KB)}, tmp_path / "data")
    server.start()
    try:
        log = server.log()
        assert "articles embedded by a child process" in log
        assert "(0 embedded)" in log, "the server itself embeds nothing: the child saved it all"
        reply = asyncio.run(_answer(server.ws, "How do I return an item?"))
        assert [c["article_id"] for c in reply["citations"]][:1] == ["return-item"]
    finally:
        server.stop()

    again = Server("again", {"KAKEHASHI_KB_DIR": str(SAMPLE_KB)}, tmp_path / "data")
    again.start()
    try:
        log = again.log()
        assert "child process" not in log, "a restart loads the saved index"
        assert "(0 embedded)" in log
    finally:
        again.stop()
