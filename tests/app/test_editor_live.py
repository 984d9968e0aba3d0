"""Live re-indexing with the real embedding model: published changes reach the bot in < 1 s."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from retrieval.embeddings import SentenceTransformerEmbeddings
from tests.app.conftest import ask, open_chat
from tests.app.test_editor import NEW_ARTICLE, QUESTION, editor_headers
from tests.conftest import SAMPLE_KB

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def live(
    real_embeddings: SentenceTransformerEmbeddings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("live")
    settings = Settings(_env_file=None, data_dir=data, kb_dir=SAMPLE_KB)  # type: ignore[call-arg]
    with TestClient(create_app(settings, embeddings=real_embeddings)) as client:
        yield client


def first_citation(client: TestClient, question: str, client_id: str) -> str | None:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        answer = ask(ws, question, client_id)
    return answer["citations"][0]["article_id"] if answer["citations"] else None


def test_a_published_article_is_answered_within_a_second(live: TestClient) -> None:
    editor = editor_headers(live)
    assert live.post("/api/articles", json=NEW_ARTICLE, headers=editor).status_code == 201
    assert first_citation(live, QUESTION, "before") != "tote-bag-gift"

    response = live.post("/api/articles/tote-bag-gift/publish", headers=editor)
    published_at = time.perf_counter()
    assert response.status_code == 200
    seen_after: float | None = None
    attempt = 0
    while time.perf_counter() - published_at < 3.0:
        attempt += 1
        if first_citation(live, QUESTION, f"after-{attempt}") == "tote-bag-gift":
            seen_after = time.perf_counter() - published_at
            break
    assert seen_after is not None, "the new article never reached the bot"
    assert seen_after < 1.0, f"the bot used the new article only after {seen_after:.2f} s"


def test_an_archived_article_is_no_longer_cited_soon_after(live: TestClient) -> None:
    editor = editor_headers(live)
    live.post("/api/articles/return-item/archive", headers=editor)
    archived_at = time.perf_counter()
    while time.perf_counter() - archived_at < 3.0:
        if first_citation(live, "How do I return an item?", "x") != "return-item":
            break
    assert time.perf_counter() - archived_at < 1.0
