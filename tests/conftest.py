"""Shared fixtures: small knowledge bases, fake and real embeddings, a PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from retrieval.embeddings import SentenceTransformerEmbeddings
from storage.engine import create_engine, dispose, migrate, session_factory
from tests._postgres import PostgresServer, find_binaries
from tests._redis import RedisServer, find_redis

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_KB = ROOT / "kb_articles"


class CountingEmbedding(DeterministicFakeEmbedding):
    """Deterministic fake vectors (for tests only) that counts how many texts it embedded."""

    calls: int = 0
    texts: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        return super().embed_documents(texts)


@pytest.fixture
def fake_embeddings() -> CountingEmbedding:
    return CountingEmbedding(size=32)


@pytest.fixture
def write_article(tmp_path: Path) -> Callable[..., Path]:
    """Write one KB file: write_article("en/a.md", id=..., title=..., lang=..., body=...)."""

    def write(relative: str, body: str = "Some body text.", **meta: object) -> Path:
        path = tmp_path / "kb" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["---", *(f"{k}: {v}" for k, v in meta.items()), "---", body]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def real_embeddings() -> SentenceTransformerEmbeddings:
    """The packaged all-MiniLM-L6-v2 model, loaded once per test session."""
    return SentenceTransformerEmbeddings()


def _postgres_required() -> bool:
    """CI (and KAKEHASHI_REQUIRE_POSTGRES=1) must run the PostgreSQL tests, never skip them."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false")
    return ci or os.environ.get("KAKEHASHI_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole test session (tests marked `postgres`)."""
    binaries = find_binaries()
    if binaries is None:
        reason = (
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "`make postgres` installs Debian's postgresql package"
        )
        if _postgres_required():
            pytest.fail(f"{reason}; CI / KAKEHASHI_REQUIRE_POSTGRES=1 require it")
        pytest.skip(reason)
    for attempt in range(3):  # the free port found may be taken before the server binds it
        server = PostgresServer(binaries)
        try:
            server.start()
            break
        except RuntimeError:
            if attempt == 2:
                raise
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test: its postgresql+asyncpg:// URL."""
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated SQLite database of its own, for domain tests without the web app
    (async tests: mark them `anyio`)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'domain.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
    yield sessions
    await dispose(engine, sessions)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway Redis server for the whole test session (tests marked `redis`)."""
    binary = find_redis()
    if binary is None:
        reason = "redis-server is not installed: `make redis` installs Debian's redis-server"
        if _postgres_required():
            pytest.fail(f"{reason}; CI / KAKEHASHI_REQUIRE_POSTGRES=1 require it")
        pytest.skip(reason)
    server = RedisServer(binary)
    server.start()
    yield server
    server.remove()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The Redis server, emptied for this test (and started again if a test stopped it)."""
    import redis as redis_client

    redis_server.start_if_stopped()
    client = redis_client.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url
